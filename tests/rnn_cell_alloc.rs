//! An untraced recurrent cell step allocates only its outputs (each output is a buffer and
//! its shared handle): the projections and gate activations live in per-thread scratch. The
//! portable matrix product (`matrixmultiply`) allocates its packing buffer per call; that
//! cost is measured on a plain matmul and allowed for each of a step's two products.

use rand::SeedableRng;
use shaped::nn::{GRUCell, LSTMCell, Module, RNNReluCell};
use shaped::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;
thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}
fn bump() {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made on this thread by `f`.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn untraced_cell_steps_allocate_only_their_outputs() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let x = Tensor::<Rank2<8, 16>>::ones();
    let w = Tensor::<Rank2<16, 128>>::ones();
    let _ = x.clone().matmul(w.clone());
    // A product's own allocations beyond its output (0 with the AVX-512 kernels, whose
    // packing buffers are per thread).
    let per_product = allocations(|| drop(x.clone().matmul(w.clone()))) - 2;
    let products = 2 * per_product;

    let lstm = LSTMCell::<16, 32>::new(&mut rng);
    let mut state = lstm.forward(x.clone()); // warm-up: scratch buffers are created here
    for _ in 0..3 {
        let n = allocations(|| state = lstm.forward((x.clone(), state.clone())));
        assert_eq!(
            n,
            4 + products,
            "LSTMCell step: h' and c', each a buffer and its handle"
        );
    }

    let gru = GRUCell::<16, 32>::new(&mut rng);
    let mut h = gru.forward(x.clone());
    for _ in 0..3 {
        let n = allocations(|| h = gru.forward((x.clone(), h.clone())));
        assert_eq!(n, 2 + products, "GRUCell step: h', a buffer and its handle");
    }

    let rnn = RNNReluCell::<16, 32>::new(&mut rng);
    let mut h = rnn.forward(x.clone());
    for _ in 0..3 {
        let n = allocations(|| h = rnn.forward((x.clone(), h.clone())));
        assert_eq!(n, 2 + products, "RNNCell step: h', a buffer and its handle");
    }
}
