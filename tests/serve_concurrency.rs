//! The serving example's guarantee: a model shared read-only by several threads gives every
//! request exactly (bit for bit) the answer a single thread gives, in process and over HTTP.
//!
//! The model, the worker pool and the HTTP server are the example's own code
//! (`examples/serve.rs`, included below).

#[allow(dead_code)] // the example's `main` is not used here
#[path = "../examples/serve.rs"]
mod serve;

use serve::{
    Model, Prediction, from_json, http_post, iris_requests, predict, predict_concurrently,
};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

fn trained() -> Arc<Model> {
    Arc::new(serve::train().expect("iris trains"))
}

fn single_threaded(model: &Model, requests: &[[f32; 4]]) -> Vec<Prediction> {
    requests.iter().map(|&r| predict(model, r)).collect()
}

#[test]
fn model_is_send_and_sync() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Model>();
}

#[test]
fn concurrent_answers_equal_single_threaded_ones() {
    let model = trained();
    let requests: Vec<[f32; 4]> = iris_requests()
        .unwrap()
        .into_iter()
        .cycle()
        .take(3000)
        .collect();
    let expected = single_threaded(&model, &requests);
    for threads in [2, 3, 8] {
        assert_eq!(
            predict_concurrently(&model, &requests, threads),
            expected,
            "{threads} threads"
        );
    }
}

#[test]
fn untrained_model_too() {
    // Not a property of trained weights: a random initialisation shares as well.
    let model = Arc::new(serve::new_model(99));
    let requests = iris_requests().unwrap();
    assert_eq!(
        predict_concurrently(&model, &requests, 4),
        single_threaded(&model, &requests)
    );
}

#[test]
fn http_answers_equal_single_threaded_ones() {
    let model = trained();
    let requests = iris_requests().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (clients, per_client) = (4, 15);
    let server = serve::serve_http(
        listener,
        Arc::clone(&model),
        3,
        clients * per_client,
        Duration::from_secs(10),
    );
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let requests = requests.clone();
            std::thread::spawn(move || {
                (0..per_client)
                    .map(|k| {
                        let f = requests[(c * per_client + k) * 2 % requests.len()];
                        let body = format!("{},{},{},{}", f[0], f[1], f[2], f[3]);
                        let (status, reply) = http_post(addr, &body).unwrap();
                        assert_eq!(status, "HTTP/1.1 200 OK", "{reply}");
                        (f, from_json(&reply).expect("a prediction"))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for (f, answer) in h.join().unwrap() {
            assert_eq!(answer, predict(&model, f));
        }
    }
    assert_eq!(server.join().unwrap(), clients * per_client);
}

#[test]
fn http_server_stops_by_itself_when_idle() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = serve::serve_http(
        listener,
        Arc::new(serve::new_model(0)),
        2,
        100,
        Duration::from_millis(100),
    );
    assert_eq!(server.join().unwrap(), 0);
}

#[test]
fn http_rejects_malformed_requests() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = serve::serve_http(listener, trained(), 1, 2, Duration::from_secs(10));
    let (status, reply) = http_post(addr, "1,2,3").unwrap();
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert!(reply.contains("got 3"), "{reply}");
    let (status, _) = http_post(addr, "1,2,x,4").unwrap();
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(server.join().unwrap(), 2);
}
