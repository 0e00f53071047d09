//! A persistent pool of worker threads for kernels that split work across cores.
//!
//! Why not spawn threads per call: a training step runs dozens of products of a few
//! MFLOP each, and starting a thread costs tens of microseconds; worse, short-lived threads
//! make glibc's malloc hand memory back to the kernel and fault it in again on every step.
//! The workers here live for the whole process, spin briefly after each job (the next
//! product of a training step usually follows within microseconds) and then sleep.
//!
//! The pool is used only by one caller at a time: a second thread calling [`run`] while a
//! job is in flight (a server answering requests on several threads, or a kernel called
//! from inside a task) runs its tasks itself instead of waiting, so the pool never
//! deadlocks and never makes a caller slower than running alone.
//!
//! `SHAPED_NUM_THREADS` sets the number of threads (including the caller); the default is
//! `std::thread::available_parallelism()`.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A caller that waits longer than this for the other threads' tasks after finishing its
/// own saw a worker descheduled mid-task (another process took its core): see [`stalled`].
const STALL: Duration = Duration::from_millis(1);
/// How long after a stall [`stalled`] answers true.
const STALL_BACKOFF: Duration = Duration::from_millis(100);

/// How long an idle worker keeps polling for the next job before it sleeps on the condvar.
const SPIN: Duration = Duration::from_micros(200);

/// One parallel call: `tasks` indices handed out through `next`; `done` counts finished ones.
struct Job {
    /// The caller's closure with its lifetime erased; see the safety comment in [`run`].
    task: *const (dyn Fn(usize) + Sync),
    tasks: usize,
    next: AtomicUsize,
    done: AtomicUsize,
    panicked: AtomicBool,
}

// SAFETY: `task` points to a `Sync` closure, and `run` keeps it alive until every task that
// was handed out has finished.
unsafe impl Send for Job {}
// SAFETY: as for `Send`; the counters are atomics.
unsafe impl Sync for Job {}

impl Job {
    /// Claims and runs tasks until none are left.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::AcqRel);
            if i >= self.tasks {
                return;
            }
            // SAFETY: `i < tasks`, so `run` has not returned yet (it waits for `done`).
            let task = unsafe { &*self.task };
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task(i))).is_err() {
                self.panicked.store(true, Ordering::Release);
            }
            self.done.fetch_add(1, Ordering::AcqRel);
        }
    }
}

struct Pool {
    threads: usize,
    /// Set while a caller owns the pool.
    busy: AtomicBool,
    /// Bumped for every new job, so that spinning workers see it without taking the lock.
    /// On a cache line of its own: idle workers read it continuously, and sharing a line
    /// with `busy` and the slot's lock would make each of the caller's writes to those wait
    /// for the line to come back from a spinning worker.
    generation: Padded<AtomicUsize>,
    slot: Mutex<Option<Arc<Job>>>,
    wake: Condvar,
    /// Workers asleep on `wake` (changed and read under `slot`'s lock): a caller skips the
    /// wake-up, a system call each time, while every worker is still spinning.
    sleepers: AtomicUsize,
}

/// A value alone on its cache line (128 bytes: adjacent-line prefetching pairs 64-byte lines
/// on x86).
#[repr(align(128))]
struct Padded<T>(T);

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        super::init();
        let threads = std::env::var("SHAPED_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&t| t > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |t| t.get()));
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            threads,
            busy: AtomicBool::new(false),
            generation: Padded(AtomicUsize::new(0)),
            slot: Mutex::new(None),
            wake: Condvar::new(),
            sleepers: AtomicUsize::new(0),
        }));
        for w in 1..threads {
            let spawned = std::thread::Builder::new()
                .name(format!("shaped-worker-{w}"))
                .spawn(move || worker(pool));
            if spawned.is_err() {
                // Fewer workers only means less parallelism: `run` never waits for a worker.
                break;
            }
        }
        pool
    })
}

fn worker(pool: &'static Pool) {
    let mut seen = 0;
    loop {
        // The generation is read after every `pause`, the clock only every 64: one `pause`
        // takes ~35 ns on Zen 4 (and ~40 on recent Intel cores), so checking once per 64 of
        // them left a job unseen for up to ~2 us, which a caller splitting 5 us of work
        // then waited for (3 us of overhead per parallel call instead of ~1).
        let start = Instant::now();
        'spin: while start.elapsed() < SPIN {
            for _ in 0..64 {
                if pool.generation.0.load(Ordering::Acquire) != seen {
                    break 'spin;
                }
                std::hint::spin_loop();
            }
        }
        let job = {
            let mut slot = pool.slot.lock().unwrap_or_else(|e| e.into_inner());
            while pool.generation.0.load(Ordering::Acquire) == seen {
                pool.sleepers.fetch_add(1, Ordering::Relaxed);
                slot = pool.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
                pool.sleepers.fetch_sub(1, Ordering::Relaxed);
            }
            seen = pool.generation.0.load(Ordering::Acquire);
            slot.clone()
        };
        if let Some(job) = job {
            job.work();
        }
    }
}

/// The number of threads [`run`] may use, the caller's included.
pub(crate) fn threads() -> usize {
    pool().threads
}

/// Runs `task(0)`, ..., `task(tasks - 1)`, spread over the calling thread and the pool's
/// workers, and returns when all have finished. A panic in a task is re-raised here.
pub(crate) fn run(tasks: usize, task: &(dyn Fn(usize) + Sync)) {
    let pool = pool();
    if tasks <= 1
        || pool.threads <= 1
        || pool
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
    {
        for i in 0..tasks {
            task(i);
        }
        return;
    }
    // SAFETY (lifetime erasure): a worker dereferences `task` only after claiming an index
    // below `tasks`, and this function returns only once `done == tasks`, i.e. after every
    // claimed task has finished; later claims see `next >= tasks` and never touch it.
    let task: *const (dyn Fn(usize) + Sync + '_) = task;
    let task: *const (dyn Fn(usize) + Sync) = unsafe { core::mem::transmute(task) };
    let job = Arc::new(Job {
        task,
        tasks,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        panicked: AtomicBool::new(false),
    });
    let asleep = {
        let mut slot = pool.slot.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(job.clone());
        pool.generation.0.fetch_add(1, Ordering::AcqRel);
        // A worker counts itself asleep under this lock before it waits, after reading the
        // generation: either it sees the new generation or it is counted here.
        pool.sleepers.load(Ordering::Relaxed)
    };
    if asleep > 0 {
        pool.wake.notify_all();
    }
    job.work();
    if job.done.load(Ordering::Acquire) < tasks {
        let start = Instant::now();
        while job.done.load(Ordering::Acquire) < tasks {
            std::hint::spin_loop();
        }
        if start.elapsed() > STALL {
            note_stall();
        }
    }
    *pool.slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    pool.busy.store(false, Ordering::Release);
    if job.panicked.load(Ordering::Acquire) {
        panic!("a parallel kernel task panicked");
    }
}

/// Microseconds from the pool's epoch to the end of the last stall (0: none yet).
static LAST_STALL: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn note_stall() {
    let now = epoch().elapsed().as_micros() as u64;
    LAST_STALL.store(now.max(1), Ordering::Relaxed);
}

/// Whether a parallel call waited more than [`STALL`] for a descheduled worker within the
/// last [`STALL_BACKOFF`]. Callers that split work of a few microseconds per task (one
/// recurrent cell step) run it on the calling thread meanwhile: on a machine whose cores
/// other processes take, a worker preempted mid-task holds up the caller for a whole time
/// slice (milliseconds), far more than the split saves; on a quiet machine this never
/// triggers.
pub(crate) fn stalled() -> bool {
    let last = LAST_STALL.load(Ordering::Relaxed);
    last != 0 && epoch().elapsed().as_micros() as u64 <= last + STALL_BACKOFF.as_micros() as u64
}

/// Runs `f(piece)` for every piece of `pieces`, spread over the pool like [`run`]: one task
/// per piece, each owning its piece (disjoint `&mut` blocks of the outputs, say).
pub(crate) fn run_pieces<P: Send>(pieces: Vec<P>, f: &(dyn Fn(P) + Sync)) {
    if pieces.len() <= 1 {
        pieces.into_iter().for_each(f);
        return;
    }
    let slots: Vec<Mutex<Option<P>>> = pieces.into_iter().map(|p| Mutex::new(Some(p))).collect();
    run(slots.len(), &|t| {
        let piece = slots[t].lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(piece) = piece {
            f(piece);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_every_task_once() {
        for tasks in [0, 1, 2, 3, 17] {
            let hits: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
            run(tasks, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    /// Workers that went to sleep (idle longer than [`SPIN`]) are woken for the next job:
    /// the caller skips the wake-up only while none sleeps. Each of two tasks waits for the
    /// other to start, so they run on two threads unless no worker comes (a lost wake-up:
    /// the caller then runs both, one after the other's timeout). Other tests may hold the
    /// pool meanwhile, so most rounds, not all, must see two threads.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "waits on wall-clock time; Miri's threads run ~100x slower"
    )]
    fn sleeping_workers_wake_for_the_next_job() {
        if threads() < 2 {
            return;
        }
        let rounds = 20;
        let mut on_two_threads = 0;
        for _ in 0..rounds {
            std::thread::sleep(SPIN * 10);
            let started = AtomicUsize::new(0);
            let ran_on = Mutex::new(Vec::new());
            run(2, &|_| {
                ran_on
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(std::thread::current().id());
                started.fetch_add(1, Ordering::AcqRel);
                let t = Instant::now();
                while started.load(Ordering::Acquire) < 2 && t.elapsed() < Duration::from_secs(2) {
                    std::hint::spin_loop();
                }
            });
            let ran_on = ran_on.into_inner().unwrap_or_else(|e| e.into_inner());
            on_two_threads += usize::from(ran_on.len() == 2 && ran_on[0] != ran_on[1]);
        }
        assert!(
            on_two_threads >= rounds / 2,
            "{on_two_threads} of {rounds} jobs ran on two threads"
        );
    }

    #[test]
    fn concurrent_and_nested_callers_do_not_deadlock() {
        let total = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        run(4, &|_| {
                            run(3, &|_| {
                                total.fetch_add(1, Ordering::Relaxed);
                            })
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 4 * 50 * 4 * 3);
    }
}
