//! Per-thread recycled buffers for the training hot loop.
//!
//! A training step allocates the same buffers in the same sizes every time: each operator's
//! output and the caches its backward reads. Fresh allocations of that size cost a page fault
//! and a kernel zeroing per 4 KiB page, or a `memset` when the allocator reuses memory; the
//! operators overwrite every element anyway. So the hot operators take their buffers here and
//! the caches hand them back when dropped: after the first step of a chunk, a thread's buffers
//! come from its pool, uncleared.
//!
//! Buffers are matched by exact length (a step repeats its sizes exactly), most recently handed
//! back first (the likeliest to be in cache). A thread keeps at
//! most [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] bytes; beyond that, handed-back buffers are
//! freed. Pools are per thread because a chunk's forward and backward run on one rayon worker:
//! no locking, and a buffer is reused by the thread whose cache it last warmed.

use std::any::Any;
use std::cell::RefCell;

use ndarray::{Array, Dimension};

/// Buffers kept per thread (two encoder layers hold about 30 between forward and backward).
pub const MAX_BUFFERS: usize = 256;

/// Bytes kept per thread.
pub const MAX_BYTES: usize = 1 << 30;

struct Pool {
    /// `(length, bytes, buffer)`; the buffer is a `Vec<T>` behind `Any`.
    buffers: Vec<(usize, usize, Box<dyn Any>)>,
    bytes: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool {
            buffers: Vec::new(),
            bytes: 0,
        })
    };
}

/// A buffer of exactly `len` elements: a recycled one (contents stale: whatever its last user
/// wrote, every element an initialised `T`) or a new one filled with `fill`. Callers must
/// overwrite every element they read.
pub fn take<T: Copy + 'static>(len: usize, fill: T) -> Vec<T> {
    if len == 0 {
        return Vec::new();
    }
    let recycled = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        // The most recently handed back first: it is the likeliest to be in cache.
        let at = pool
            .buffers
            .iter()
            .rposition(|(l, _, b)| *l == len && b.is::<Vec<T>>())?;
        let (_, bytes, buffer) = pool.buffers.remove(at);
        pool.bytes -= bytes;
        Some(buffer)
    });
    match recycled.and_then(|b| b.downcast::<Vec<T>>().ok()) {
        Some(v) => *v,
        None => vec![fill; len],
    }
}

/// Hands a buffer back to this thread's pool (freed if the pool is full).
pub fn give<T: 'static>(v: Vec<T>) {
    let (len, bytes) = (v.len(), v.capacity() * std::mem::size_of::<T>());
    if len == 0 {
        return;
    }
    // `try_with`: a buffer dropped while the thread's locals are torn down is just freed.
    let _ = POOL.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            if pool.buffers.len() < MAX_BUFFERS && pool.bytes + bytes <= MAX_BYTES {
                pool.bytes += bytes;
                pool.buffers.push((len, bytes, Box::new(v)));
            }
        }
    });
}

/// An array of `shape` in standard layout on a [`take`]n buffer (contents stale).
pub fn array<T: Copy + 'static, D: Dimension>(shape: D, fill: T) -> Array<T, D> {
    let v = take(shape.size(), fill);
    Array::from_shape_vec(shape.clone(), v).unwrap_or_else(|_| Array::from_elem(shape, fill))
}

/// Hands an owned array's buffer back (arrays in standard layout from offset 0, as the
/// operators make them; any other is simply dropped).
pub fn give_array<T: 'static, D: Dimension>(a: Array<T, D>) {
    if a.is_standard_layout() {
        let (v, offset) = a.into_raw_vec_and_offset();
        if offset.unwrap_or(0) == 0 {
            give(v);
        }
    }
}

/// Takes an array out of `slot` (leaving an empty one) and hands its buffer back.
pub fn give_from<T: 'static, D: Dimension>(slot: &mut Array<T, D>) {
    let empty = Array::from_shape_vec(D::zeros(slot.ndim()), Vec::new());
    if let Ok(empty) = empty {
        give_array(std::mem::replace(slot, empty));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A handed-back buffer is what the next request of its length gets (no new allocation),
    /// a different length or type gets a fresh buffer.
    #[test]
    fn buffers_are_reused_by_exact_length_and_type() {
        let mut a = take(1000, 0.0f32);
        a[7] = 3.0;
        let ptr = a.as_ptr();
        give(a);
        let other_len = take(999, 0.0f32);
        assert_ne!(other_len.as_ptr(), ptr);
        let other_type = take(1000, 0.0f64);
        assert_eq!(other_type[7], 0.0);
        let again = take(1000, 0.0f32);
        assert_eq!(again.as_ptr(), ptr);
        assert_eq!(again[7], 3.0, "contents are stale, not cleared");
    }

    /// Arrays go back through their buffers; `give_from` leaves an empty array behind.
    #[test]
    fn arrays_round_trip_through_the_pool() {
        let mut a: Array2<f32> = array(ndarray::Ix2(12, 34), 0.0);
        a.fill(1.5);
        let ptr = a.as_ptr();
        let mut slot = a;
        give_from(&mut slot);
        assert_eq!(slot.len(), 0);
        let b: Array2<f32> = array(ndarray::Ix2(34, 12), 0.0);
        assert_eq!(b.as_ptr(), ptr, "same length, any shape");
        assert_eq!(b[[0, 0]], 1.5);
    }
}
