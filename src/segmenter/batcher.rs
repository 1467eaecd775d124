//! Frames that arrive together run together. Callers on several threads each hand in a frame;
//! whichever finds the device idle runs every frame waiting (up to a batch) in one go, and each
//! caller gets its own result back. A lone caller runs at once, alone; nobody waits for a batch
//! to fill. (The "combining" pattern: no thread of its own, no lock held while a batch runs.)

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

pub(crate) struct Batcher<I, O> {
    max: usize,
    state: Mutex<State<I, O>>,
    finished: Condvar,
}

struct State<I, O> {
    next_ticket: u64,
    waiting: VecDeque<(u64, I)>,
    /// Results not yet collected; `None` where the batch that ran the frame panicked.
    done: HashMap<u64, Option<O>>,
    running: bool,
    /// Batches run so far, and the frames they ran (for tests and stats).
    batches: u64,
    frames: u64,
}

impl<I, O> Batcher<I, O> {
    /// Batches of at most `max` frames (at least 1).
    pub(crate) fn new(max: usize) -> Self {
        Batcher {
            max: max.max(1),
            state: Mutex::new(State {
                next_ticket: 0,
                waiting: VecDeque::new(),
                done: HashMap::new(),
                running: false,
                batches: 0,
                frames: 0,
            }),
            finished: Condvar::new(),
        }
    }

    /// `input`'s result, computed by `run` over a batch holding it (in order: `run` returns
    /// one output per input). `None` when the batch panicked (the panic goes on in the thread
    /// that ran it).
    pub(crate) fn run(&self, input: I, run: &dyn Fn(Vec<I>) -> Vec<O>) -> Option<O> {
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back((ticket, input));
        loop {
            if let Some(result) = state.done.remove(&ticket) {
                return result;
            }
            if state.running {
                state = self
                    .finished
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                continue;
            }
            // The device is idle: run what waits, oldest first (ours may be in a later batch).
            let take = state.waiting.len().min(self.max);
            let (tickets, inputs): (Vec<u64>, Vec<I>) = state.waiting.drain(..take).unzip();
            state.running = true;
            drop(state);
            let mut batch = Running {
                batcher: self,
                tickets,
                outputs: None,
            };
            let outputs = run(inputs);
            assert_eq!(outputs.len(), batch.tickets.len(), "one output per input");
            batch.outputs = Some(outputs);
            drop(batch);
            state = self.lock();
        }
    }

    /// (batches, frames) run so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let state = self.lock();
        (state.batches, state.frames)
    }

    fn lock(&self) -> MutexGuard<'_, State<I, O>> {
        // Every change to the state is made whole under the lock: a panic cannot tear it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A batch in flight: when dropped (done or unwinding), its results are posted, or `None` for
/// each of its frames if it panicked, and the waiters are woken, so no caller waits forever.
struct Running<'a, I, O> {
    batcher: &'a Batcher<I, O>,
    tickets: Vec<u64>,
    outputs: Option<Vec<O>>,
}

impl<I, O> Drop for Running<'_, I, O> {
    fn drop(&mut self) {
        let mut state = self.batcher.lock();
        state.running = false;
        state.batches += 1;
        state.frames += self.tickets.len() as u64;
        let mut outputs = self.outputs.take().map(Vec::into_iter);
        for &ticket in &self.tickets {
            let output = outputs.as_mut().and_then(Iterator::next);
            state.done.insert(ticket, output);
        }
        self.batcher.finished.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::time::Duration;

    #[test]
    fn a_lone_caller_runs_alone_at_once() {
        let batcher = Batcher::new(8);
        for k in 0..3 {
            assert_eq!(batcher.run(k, &|v: Vec<i32>| v), Some(k));
        }
        assert_eq!(batcher.counts(), (3, 3));
    }

    #[test]
    fn callers_who_arrive_while_a_batch_runs_run_together_next() {
        let callers = 5;
        let batcher = Batcher::new(8);
        let arrived = Barrier::new(callers);
        // The first batch holds the device until every other caller waits.
        let first = std::sync::atomic::AtomicBool::new(true);
        let run = |inputs: Vec<usize>| {
            if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                while batcher.lock().waiting.len() + inputs.len() < callers {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            inputs.iter().map(|k| k * 10).collect()
        };
        let results: Vec<Option<usize>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..callers)
                .map(|k| {
                    let (batcher, arrived, run) = (&batcher, &arrived, &run);
                    scope.spawn(move || {
                        arrived.wait();
                        batcher.run(k, run)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let expected: Vec<_> = (0..callers).map(|k| Some(k * 10)).collect();
        assert_eq!(results, expected);
        // Whoever came first, then everyone else together.
        assert_eq!(batcher.counts(), (2, callers as u64));
    }

    #[test]
    fn batches_hold_at_most_max_frames_oldest_first() {
        let batcher = Batcher::new(2);
        let seen = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            let (batcher, seen) = (&batcher, &seen);
            // Five waiting before anyone runs: queue them under the lock by hand.
            let mut state = batcher.lock();
            state.running = true;
            drop(state);
            let handles: Vec<_> = (0..5)
                .map(|k| {
                    let handle = scope.spawn(move || {
                        batcher.run(k, &|v: Vec<i32>| {
                            seen.lock().unwrap().push(v.clone());
                            v
                        })
                    });
                    while batcher.lock().waiting.len() <= k as usize {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    handle
                })
                .collect();
            // The device frees: the batches that follow are [0, 1], [2, 3], [4].
            batcher.lock().running = false;
            batcher.finished.notify_all();
            for (k, handle) in handles.into_iter().enumerate() {
                assert_eq!(handle.join().unwrap(), Some(k as i32));
            }
        });
        assert_eq!(
            seen.into_inner().unwrap(),
            vec![vec![0, 1], vec![2, 3], vec![4]]
        );
    }

    #[test]
    fn a_panicking_batch_leaves_no_caller_waiting() {
        let batcher = Batcher::new(4);
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            batcher.run(1, &|_: Vec<i32>| panic!("the device fell over"))
        }));
        assert!(failed.is_err());
        // The device is free again, and the next caller runs.
        assert_eq!(batcher.run(2, &|v: Vec<i32>| v), Some(2));
    }
}
