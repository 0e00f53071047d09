//! A model inside a Rust service: one trained model, loaded once, shared read-only by
//! several threads that answer predictions concurrently. Standard library only.
//!
//! ```sh
//! cargo run --release --example serve
//! cargo test --release --test serve_concurrency   # concurrent answers == single-threaded ones
//! ```
//!
//! 1. Training (a stand-in for your training job): an iris classifier, standardizer
//!    included, saved as safetensors.
//! 2. Service start-up: a freshly initialised model of the same type loads the file and goes
//!    into an `Arc`. `Module::forward` takes `&self` (evaluation mode), so threads share the
//!    model without a lock, and the model's type makes it `Send + Sync`.
//! 3. In-process: worker threads answer a stream of requests; every answer is compared, bit
//!    for bit, with the answer a single thread gives.
//! 4. Over HTTP: a minimal server on 127.0.0.1 (an ephemeral port) with a pool of handler
//!    threads answers `POST /predict` with a body like `5.1,3.5,1.4,0.2`. It serves a fixed
//!    number of connections, waits at most a few seconds for them, and then stops by itself.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::data::{self, DataLoader, Standardizer};
use shaped::nn::loss::cross_entropy;
use shaped::nn::{Linear, Module, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use shaped::serialize::{load_safetensors, save_safetensors};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Raw measurements in, class logits out: standardize, `Linear(4, 16)`, ReLU, `Linear(16, 3)`.
pub type Model = (Standardizer<Const<4>>, Linear<4, 16>, ReLU, Linear<16, 3>);

/// The class names, in label order.
pub const CLASSES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// One answer: the most likely class and the probability of each class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// Index into [`CLASSES`].
    pub class: usize,
    /// Softmax of the logits.
    pub probabilities: [f32; 3],
}

/// A model of the right type with parameters from `seed` (to load trained weights into).
pub fn new_model(seed: u64) -> Model {
    let mut rng = StdRng::seed_from_u64(seed);
    (
        Standardizer::default(),
        Linear::new(&mut rng),
        ReLU,
        Linear::new(&mut rng),
    )
}

/// Trains a model on iris (a fraction of a second) and returns it.
pub fn train() -> Result<Model> {
    let iris = data::iris()?;
    let mut model = new_model(1);
    model.0 = Standardizer::fit(&iris)?;
    let mut opt = Adam::new(0.01);
    let mut loader = DataLoader::new(&iris, 16)?.shuffle(7);
    for _ in 0..60 {
        for batch in &mut loader {
            let (x, y) = batch?;
            let loss = cross_entropy(model.try_forward_train(x.trace())?, &y);
            opt.step(&mut model, &loss.backward());
        }
    }
    Ok(model)
}

/// Answers one request. `&Model`: any number of threads may call this at once.
pub fn predict(model: &Model, features: [f32; 4]) -> Prediction {
    let x = Tensor::<Rank2<1, 4>>::from_array([features]);
    let probs = model.forward(x).softmax::<1>();
    let p = probs.as_slice();
    let probabilities = [p[0], p[1], p[2]];
    Prediction {
        class: probs.argmax::<1>().as_slice()[0],
        probabilities,
    }
}

/// Answers `requests` with `threads` worker threads sharing one model; answers come back in
/// request order.
pub fn predict_concurrently(
    model: &Arc<Model>,
    requests: &[[f32; 4]],
    threads: usize,
) -> Vec<Prediction> {
    let requests: Arc<[[f32; 4]]> = requests.into();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (model, requests) = (Arc::clone(model), Arc::clone(&requests));
            // Worker t answers requests t, t + threads, t + 2 threads, ...
            thread::spawn(move || {
                (t..requests.len())
                    .step_by(threads)
                    .map(|i| (i, predict(&model, requests[i])))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut answers = vec![None; requests.len()];
    for h in handles {
        for (i, p) in h.join().expect("a worker panicked") {
            answers[i] = Some(p);
        }
    }
    answers
        .into_iter()
        .map(|a| a.expect("every request answered"))
        .collect()
}

/// The HTTP body of an answer. `{:?}` prints the shortest decimal that reads back as the
/// same `f32`, so clients get the exact values.
fn to_json(p: &Prediction) -> String {
    format!(
        "{{\"class\":\"{}\",\"label\":{},\"probabilities\":[{:?},{:?},{:?}]}}",
        CLASSES[p.class], p.class, p.probabilities[0], p.probabilities[1], p.probabilities[2]
    )
}

/// Parses a body written by [`to_json`].
pub fn from_json(body: &str) -> Option<Prediction> {
    let label = body.split("\"label\":").nth(1)?.split(',').next()?;
    let probs = body.split('[').nth(1)?.split(']').next()?;
    let p: Vec<f32> = probs
        .split(',')
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    Some(Prediction {
        class: label.parse().ok()?,
        probabilities: p.try_into().ok()?,
    })
}

fn parse_features(body: &str) -> std::result::Result<[f32; 4], String> {
    let values: Vec<f32> = body
        .trim()
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| format!("{e}"))?;
    values.try_into().map_err(|v: Vec<f32>| {
        format!(
            "expected 4 comma-separated numbers (sepal length, sepal width, petal length, petal width), got {}",
            v.len()
        )
    })
}

/// Reads one HTTP request and writes the answer.
fn handle(model: &Model, stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut content_length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            content_length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; content_length.min(1024)];
    reader.read_exact(&mut body)?;
    let (status, reply) = if !request_line.starts_with("POST /predict ") {
        ("404 Not Found", "{\"error\":\"POST /predict\"}".to_string())
    } else {
        match parse_features(&String::from_utf8_lossy(&body)) {
            Ok(features) => ("200 OK", to_json(&predict(model, features))),
            Err(e) => ("400 Bad Request", format!("{{\"error\":\"{e}\"}}")),
        }
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    )
}

/// Serves `max_requests` connections on `listener` with `workers` handler threads sharing
/// `model`, then stops; it also stops when no connection arrives for `idle` time. Returns the
/// number of connections served.
pub fn serve_http(
    listener: TcpListener,
    model: Arc<Model>,
    workers: usize,
    max_requests: usize,
    idle: Duration,
) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let (tx, rx) = mpsc::channel::<TcpStream>();
        let rx = Arc::new(Mutex::new(rx));
        let pool: Vec<_> = (0..workers)
            .map(|_| {
                let (model, rx) = (Arc::clone(&model), Arc::clone(&rx));
                thread::spawn(move || {
                    loop {
                        // The lock is held only while taking the next connection.
                        let next = rx.lock().expect("a worker panicked").recv();
                        let Ok(stream) = next else { break }; // the acceptor is done
                        if let Err(e) = handle(&model, stream) {
                            eprintln!("request failed: {e}");
                        }
                    }
                })
            })
            .collect();
        // The accept loop: bounded by `max_requests`, and by `idle` between connections.
        listener
            .set_nonblocking(true)
            .expect("a listener can be non-blocking");
        let (mut served, mut last) = (0, Instant::now());
        while served < max_requests && last.elapsed() < idle {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream
                        .set_nonblocking(false)
                        .expect("a stream can be blocking");
                    tx.send(stream).expect("the workers outlive the acceptor");
                    served += 1;
                    last = Instant::now();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(1))
                }
                Err(e) => eprintln!("accept failed: {e}"),
            }
        }
        drop(tx); // the workers finish the queued connections and stop
        for w in pool {
            w.join().expect("a worker panicked");
        }
        served
    })
}

/// A client: `POST /predict` and the status line and body of the answer.
pub fn http_post(addr: SocketAddr, body: &str) -> std::io::Result<(String, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "POST /predict HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or("").to_string();
    Ok((status, body.to_string()))
}

/// Every iris flower's measurements, as requests.
pub fn iris_requests() -> Result<Vec<[f32; 4]>> {
    let iris = data::iris()?;
    Ok(iris
        .features()
        .as_slice()
        .chunks_exact(4)
        .map(|r| [r[0], r[1], r[2], r[3]])
        .collect())
}

fn main() -> Result<()> {
    // 1. The training job writes a model file.
    let path =
        std::env::temp_dir().join(format!("shaped_serve_{}.safetensors", std::process::id()));
    save_safetensors(&train()?, &path)?;

    // 2. Service start-up: load once, share read-only.
    let model = Arc::new(load(&path)?);
    std::fs::remove_file(&path)?;
    println!("model loaded from {}", path.display());

    // 3. In-process workers against one thread.
    let flowers = iris_requests()?;
    let requests: Vec<[f32; 4]> = flowers.iter().cycle().take(20_000).copied().collect();
    let start = Instant::now();
    let expected: Vec<Prediction> = requests.iter().map(|&r| predict(&model, r)).collect();
    let one = start.elapsed();
    let threads = 4;
    let start = Instant::now();
    let answers = predict_concurrently(&model, &requests, threads);
    let many = start.elapsed();
    let same = answers == expected;
    println!(
        "{} requests: 1 thread {one:.2?}, {threads} threads {many:.2?}; identical answers: {same}",
        requests.len()
    );
    assert!(same, "concurrent answers differ from single-threaded ones");

    // 4. HTTP on loopback: 4 client threads x 10 requests, plus one malformed request.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let clients = 4;
    let per_client = 10;
    let server = serve_http(
        listener,
        Arc::clone(&model),
        4,
        clients * per_client + 1,
        Duration::from_secs(5),
    );
    println!("serving on http://{addr}/predict");
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let flowers = flowers.clone();
            thread::spawn(move || {
                (0..per_client)
                    .map(|k| {
                        let f = flowers[(c * 37 + k * 13) % flowers.len()];
                        let body = format!("{},{},{},{}", f[0], f[1], f[2], f[3]);
                        let (status, reply) = http_post(addr, &body).expect("the server answers");
                        (f, status, reply)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut exchanges = Vec::new();
    for h in handles {
        exchanges.extend(h.join().expect("a client panicked"));
    }
    let (status, reply) = http_post(addr, "5.1,3.5")?;
    let served = server.join().expect("the server panicked");

    let (f, status0, reply0) = &exchanges[0];
    println!("POST /predict {f:?}\n  -> {status0}\n  -> {reply0}");
    println!("POST /predict \"5.1,3.5\"\n  -> {status}\n  -> {reply}");
    let matching = exchanges
        .iter()
        .filter(|(f, _, reply)| from_json(reply) == Some(predict(&model, *f)))
        .count();
    println!(
        "{matching} of {} HTTP answers equal the in-process ones; the server served {served} connections and stopped",
        exchanges.len()
    );
    assert_eq!(matching, exchanges.len());
    Ok(())
}

/// A fresh model of the right type with the saved weights (and standardizer) loaded.
pub fn load(path: &Path) -> Result<Model> {
    let mut model = new_model(12345);
    load_safetensors(&mut model, path)?;
    Ok(model)
}
