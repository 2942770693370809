//! Linear layer along the item axis of a 3D activation (NASRec's "embedded FC": the `linear-3d`
//! node, the transformer's item projection and the dot product's operator-balancing projection):
//! `y[b,m,e] = sum_n x[b,n,e] w[n,m] + b[m]`, `x [B,N,E]`, `w [N,M]` (`[in, out]` as in
//! [`super::linear`]), `y [B,M,E]`.
//!
//! For NASRec's width E = 16 (and any E of [`FAST_EMB`]) the products run in the register-blocked
//! kernels of this file on contiguous rows: a row of E values is two AVX2 registers, so four
//! output rows accumulate in eight registers while the N input rows stream past, and nothing is
//! packed. Per example these products are tiny (`[M,N] x [N,E]`), and a general GEMM spent as
//! long packing them as multiplying (BENCHMARKS.md, "Training speed"). The weight gradient
//! `dW[n,m] = sum_{b,e} x[b,n,e] dy[b,m,e]` runs in blocks of eight examples (whose `dy` rows
//! stay in L1): 2 x 4 tiles of `dW` accumulate in eight registers over a block, each entry as
//! eight lane partial sums (lane `l` takes embedding elements `l` and `l + 8`), added to a
//! `[N, M, 8]` scratch per block and summed across lanes once at the end. The kernels take one
//! contiguous slice per example, so item slices of a wider tensor (the dense-to-sparse merger's)
//! are read in place; other layouts are copied once (far cheaper than a packed GEMM per example);
//! other widths use one matrixmultiply GEMM per example.
//!
//! The product kernels are compiled for the x86-64 baseline and with AVX2 enabled, chosen at run
//! time; the weight-gradient tile has a portable form and an AVX2 intrinsic form (the portable
//! loop did not keep its accumulators in registers). Each pair executes the same operations in
//! the same order (no FMA contraction), so they agree bitwise. Summation orders are fixed, so
//! results do not depend on threads.

use ndarray::linalg::general_mat_mul;
use ndarray::{
    Array3, ArrayView1, ArrayView2, ArrayView3, ArrayViewMut1, ArrayViewMut2, ArrayViewMut3,
};

use super::layout::ExampleBlocks;
use super::Real;

/// The embedding width the register-blocked kernels are built for (NASRec's E).
pub const FAST_EMB: usize = 16;

/// Output rows computed together in [`product_rows`] (4 rows x E = 16 is eight AVX2 registers).
const ROW_BLOCK: usize = 4;
// `product_rows` matches block sizes 4 down to 1.
const _: () = assert!(ROW_BLOCK == 4);

/// Output rows `o0..o0 + R` of [`product_rows`]: `R` rows of E accumulate in registers while
/// the input rows stream past. `R` is a constant so that edge blocks (a width like 39 leaves 3
/// rows) keep their accumulators in registers too.
#[inline(always)]
fn product_block<T: Real, const R: usize>(
    a: &[T],
    outs: usize,
    o0: usize,
    input: &[T],
    out: &mut [T],
    bias: Option<&[T]>,
) {
    const E: usize = FAST_EMB;
    let mut acc = [[T::zero(); E]; R];
    if let Some(b) = bias {
        for (r, acc_r) in acc.iter_mut().enumerate() {
            acc_r.iter_mut().for_each(|v| *v = b[o0 + r]);
        }
    }
    for (i, chunk) in input.chunks_exact(E).enumerate() {
        let (Ok(x), Ok(w)) = (
            <&[T; E]>::try_from(chunk),
            <&[T; R]>::try_from(&a[i * outs + o0..i * outs + o0 + R]),
        ) else {
            continue;
        };
        for (acc_r, &wr) in acc.iter_mut().zip(w) {
            for e in 0..E {
                acc_r[e] += wr * x[e];
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        out[(o0 + r) * E..(o0 + r + 1) * E].copy_from_slice(acc_r);
    }
}

/// `out[o, :] = (bias[o] or 0) + sum_i a[i * outs + o] * input[i, :]` for one example:
/// `a [I, O]` row-major, `input [I, E]`, `out [O, E]`, all contiguous, E = `FAST_EMB`; blocks of
/// [`ROW_BLOCK`] output rows, a smaller one at the end.
#[inline(always)]
fn product_rows<T: Real>(a: &[T], outs: usize, input: &[T], out: &mut [T], bias: Option<&[T]>) {
    let mut o0 = 0;
    while o0 < outs {
        let rows = ROW_BLOCK.min(outs - o0);
        match rows {
            4 => product_block::<T, 4>(a, outs, o0, input, out, bias),
            3 => product_block::<T, 3>(a, outs, o0, input, out, bias),
            2 => product_block::<T, 2>(a, outs, o0, input, out, bias),
            _ => product_block::<T, 1>(a, outs, o0, input, out, bias),
        }
        o0 += rows;
    }
}

/// `out = A^T input` (+ bias) for one example, or `out += A^T input` through `scratch` (no
/// bias): `a [I, O]`, `input [I, E]`, `out [O, E]`. The accumulating form runs the same row
/// kernel into a one-example scratch (L1-resident) and adds it: folding the addition into the
/// kernel's write-back made the compiler spill the kernel's accumulators (six times slower,
/// measured).
#[inline(always)]
fn product_example<T: Real>(
    a: &[T],
    outs: usize,
    input: &[T],
    out: &mut [T],
    bias: Option<&[T]>,
    scratch: Option<&mut [T]>,
) {
    match scratch {
        Some(scratch) => {
            product_rows(a, outs, input, scratch, None);
            out.iter_mut().zip(&*scratch).for_each(|(y, &p)| *y += p);
        }
        None => product_rows(a, outs, input, out, bias),
    }
}

/// [`product_example`] compiled with AVX2. A function of its own, called per example: its slice
/// arguments do not alias, which the kernel needs to stay vectorised (inlined into a loop over
/// a list of example blocks it fell back to scalar code, 6x slower).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
unsafe fn product_example_avx2<T: Real>(
    a: &[T],
    outs: usize,
    input: &[T],
    out: &mut [T],
    bias: Option<&[T]>,
    scratch: Option<&mut [T]>,
) {
    product_example(a, outs, input, out, bias, scratch);
}

/// `out_b = A^T input_b` (+ bias) for every example of a batch, or `out_b += A^T input_b` when
/// `accumulate` (no bias): `a [I, O]`, `input` the examples' `[I, E]` blocks (each contiguous,
/// see [`super::layout::ExampleBlocks`]), `out [B, O, E]` contiguous. `wide` picks the AVX2
/// build (a CPU with AVX2 only; the tests compare both).
fn product_batch_with<T: Real>(
    a: &[T],
    outs: usize,
    input: &[&[T]],
    out: &mut [T],
    (bias, accumulate): (Option<&[T]>, bool),
    wide: bool,
) {
    let ins = a.len() / outs.max(1);
    let in_len = ins * FAST_EMB;
    let out_len = outs * FAST_EMB;
    if in_len == 0 || out_len == 0 {
        return;
    }
    assert!(
        input.iter().all(|xb| xb.len() == in_len),
        "linear_items: example blocks of {in_len} values expected"
    );
    let mut scratch = accumulate.then(|| vec![T::zero(); out_len]);
    for (&xb, yb) in input.iter().zip(out.chunks_exact_mut(out_len)) {
        let scratch = scratch.as_deref_mut();
        #[cfg(target_arch = "x86_64")]
        if wide {
            // SAFETY: `wide` is only set when the CPU has AVX2.
            unsafe { product_example_avx2(a, outs, xb, yb, bias, scratch) };
            continue;
        }
        product_example(a, outs, xb, yb, bias, scratch);
    }
}

/// True when this CPU runs the AVX2 builds of the kernels.
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// [`product_batch_with`] with the AVX2 build when the CPU has AVX2.
fn product_batch<T: Real>(
    a: &[T],
    outs: usize,
    input: &[&[T]],
    out: &mut [T],
    bias: Option<&[T]>,
    accumulate: bool,
) {
    product_batch_with(a, outs, input, out, (bias, accumulate), has_avx2());
}

/// Examples per block of the weight gradient: a block's `dy` rows (`8 x M x E` values, 20 KiB
/// for M = 39 in f32) stay in L1 while every pair of `dW` rows passes over them.
const GRAD_EXAMPLES: usize = 8;

/// Partial sums kept per `dW` entry: lane `l` sums the products of embedding elements `l` and
/// `l + LANES` (one AVX2 register of f32 per entry).
const LANES: usize = FAST_EMB / 2;
// The final lane sum uses `kernels::combine_lanes`, written for its eight lanes.
const _: () = assert!(LANES == super::kernels::LANES);

/// `dW` rows and columns of one register tile (8 accumulators of [`LANES`]).
const GRAD_ROWS: usize = 2;
const GRAD_COLS: usize = 4;

/// One block of examples of the weight gradient: its examples' `x [N, E]` and `dy [M, E]`
/// blocks, `N`, `M`, and whether it is the first block (which overwrites the lane partial sums
/// `part [N, M, LANES]` instead of adding to them).
#[derive(Clone, Copy)]
struct GradBlock<'a, T> {
    x: &'a [&'a [T]],
    dy: &'a [&'a [T]],
    items: usize,
    outs: usize,
    first: bool,
}

impl<T> GradBlock<'_, T> {
    fn examples(&self) -> usize {
        self.x.len().min(self.dy.len())
    }
}

/// Runs `$tile!(R, C, n, m)` for every tile of an `N x M` gradient: [`GRAD_ROWS`] x
/// [`GRAD_COLS`] tiles, smaller ones at the edges (`R` and `C` literals, for const generics).
macro_rules! for_each_grad_tile {
    ($items:expr, $outs:expr, $tile:ident) => {
        for n in (0..$items).step_by(GRAD_ROWS) {
            for m in (0..$outs).step_by(GRAD_COLS) {
                match (GRAD_ROWS.min($items - n), GRAD_COLS.min($outs - m)) {
                    (2, 4) => $tile!(2, 4, n, m),
                    (2, 3) => $tile!(2, 3, n, m),
                    (2, 2) => $tile!(2, 2, n, m),
                    (2, _) => $tile!(2, 1, n, m),
                    (_, 4) => $tile!(1, 4, n, m),
                    (_, 3) => $tile!(1, 3, n, m),
                    (_, 2) => $tile!(1, 2, n, m),
                    _ => $tile!(1, 1, n, m),
                }
            }
        }
    };
}

/// One `R x C` tile of `dW` (rows `n..`, columns `m..`) over a block of examples, in lanes:
/// `part[n', m', l] (+)= sum_b (x[b,n',l] dy[b,m',l] + x[b,n',l+8] dy[b,m',l+8])`, the two
/// products added first, then their sum to the accumulator (the AVX2 tile does the same).
#[inline(always)]
fn grad_tile<T: Real, const R: usize, const C: usize>(
    t: GradBlock<T>,
    (n, m): (usize, usize),
    part: &mut [T],
) {
    const E: usize = FAST_EMB;
    let mut acc = [[[T::zero(); LANES]; C]; R];
    for (xb, dyb) in t.x.iter().zip(t.dy) {
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let xr = &xb[(n + r) * E..(n + r + 1) * E];
            for (c, acc_rc) in acc_r.iter_mut().enumerate() {
                let d = &dyb[(m + c) * E..(m + c + 1) * E];
                for (l, a) in acc_rc.iter_mut().enumerate() {
                    *a += xr[l] * d[l] + xr[l + LANES] * d[l + LANES];
                }
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        for (c, lanes) in acc_r.iter().enumerate() {
            let dst = &mut part[((n + r) * t.outs + m + c) * LANES..][..LANES];
            if t.first {
                dst.copy_from_slice(lanes);
            } else {
                dst.iter_mut().zip(lanes).for_each(|(p, &a)| *p += a);
            }
        }
    }
}

/// All tiles of one block, portable.
fn grad_block<T: Real>(t: GradBlock<T>, part: &mut [T]) {
    macro_rules! tile {
        ($r:literal, $c:literal, $n:expr, $m:expr) => {
            grad_tile::<T, $r, $c>(t, ($n, $m), part)
        };
    }
    for_each_grad_tile!(t.items, t.outs, tile);
}

/// [`grad_tile`] in AVX2 intrinsics for f32 (the portable loop does not keep its accumulators
/// in registers). Same operations in the same order, so the same bits.
///
/// # Safety
/// The CPU must support AVX2; `part` must hold `N * M * LANES` values, the tile must lie
/// inside `N x M` and the example blocks hold `N * E` and `M * E` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn grad_tile_avx2<const R: usize, const C: usize>(
    t: GradBlock<f32>,
    rows: &[(*const f32, *const f32)],
    (n, m): (usize, usize),
    part: &mut [f32],
) {
    use std::arch::x86_64::*;
    const E: usize = FAST_EMB;
    // `acc[c][r]`: column-major, so the loops below walk the arrays instead of indexing them.
    let mut acc = [[_mm256_setzero_ps(); R]; C];
    for &(x, dy) in rows {
        let xb = x.add(n * E);
        let db = dy.add(m * E);
        let mut lo = [_mm256_setzero_ps(); R];
        let mut hi = [_mm256_setzero_ps(); R];
        for (r, (lo, hi)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
            *lo = _mm256_loadu_ps(xb.add(r * E));
            *hi = _mm256_loadu_ps(xb.add(r * E + LANES));
        }
        for (c, acc_c) in acc.iter_mut().enumerate() {
            let d_lo = _mm256_loadu_ps(db.add(c * E));
            let d_hi = _mm256_loadu_ps(db.add(c * E + LANES));
            for ((a, &x_lo), &x_hi) in acc_c.iter_mut().zip(&lo).zip(&hi) {
                let pair = _mm256_add_ps(_mm256_mul_ps(x_lo, d_lo), _mm256_mul_ps(x_hi, d_hi));
                *a = _mm256_add_ps(*a, pair);
            }
        }
    }
    for (c, acc_c) in acc.iter().enumerate() {
        for (r, &a) in acc_c.iter().enumerate() {
            let dst = part[((n + r) * t.outs + m + c) * LANES..][..LANES].as_mut_ptr();
            let sum = if t.first {
                a
            } else {
                _mm256_add_ps(_mm256_loadu_ps(dst), a)
            };
            _mm256_storeu_ps(dst, sum);
        }
    }
}

/// All tiles of one block, AVX2.
///
/// # Safety
/// The CPU must support AVX2; `part` must hold `N * M * LANES` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn grad_block_avx2(t: GradBlock<f32>, part: &mut [f32]) {
    assert!(
        part.len() >= t.items * t.outs * LANES,
        "linear_items: partial sums"
    );
    // The block's example pointers, fetched once (not per tile and example).
    let mut rows = [(std::ptr::null(), std::ptr::null()); GRAD_EXAMPLES];
    let examples = t.examples().min(GRAD_EXAMPLES);
    for (slot, (x, dy)) in rows.iter_mut().zip(t.x.iter().zip(t.dy)) {
        *slot = (x.as_ptr(), dy.as_ptr());
    }
    let rows = &rows[..examples];
    macro_rules! tile {
        ($r:literal, $c:literal, $n:expr, $m:expr) => {
            grad_tile_avx2::<$r, $c>(t, rows, ($n, $m), part)
        };
    }
    for_each_grad_tile!(t.items, t.outs, tile);
}

/// `dw [N, M] += sum_b x_b dy_b^T` (`x` and `dy` the examples' `[N, E]` and `[M, E]` blocks;
/// `dw` row-major and contiguous). Blocks of [`GRAD_EXAMPLES`] examples; within a block, tiles of
/// [`GRAD_ROWS`] x [`GRAD_COLS`] `dW` entries accumulate in registers over the block's
/// examples, eight lanes per entry (each lane two embedding elements), and add to lane partial
/// sums `[N, M, 8]`; the lanes are summed into `dw` once at the end, in a fixed order. No
/// transposes and no padding: every multiply-add is a real one. `wide` picks the AVX2 tiles
/// (f32 on a CPU with AVX2 only; the tests compare both).
fn weight_grad_with<T: Real>(
    x: &[&[T]],
    dy: &[&[T]],
    (items, outs): (usize, usize),
    dw: &mut [T],
    wide: bool,
) {
    let (x_len, dy_len) = (items * FAST_EMB, outs * FAST_EMB);
    if x.is_empty() || x_len == 0 || dy_len == 0 {
        return;
    }
    assert!(
        x.iter().all(|b| b.len() == x_len) && dy.iter().all(|b| b.len() == dy_len),
        "linear_items: example blocks of {x_len} and {dy_len} values expected"
    );
    let mut part = super::workspace::take(items * outs * LANES, T::zero());
    let blocks = x.chunks(GRAD_EXAMPLES).zip(dy.chunks(GRAD_EXAMPLES));
    for (block, (x, dy)) in blocks.enumerate() {
        let first = block == 0;
        #[cfg(target_arch = "x86_64")]
        if wide {
            if let (Some(x), Some(dy), Some(p)) = (
                super::kernels::as_f32_blocks(x),
                super::kernels::as_f32_blocks(dy),
                super::kernels::as_f32_mut(&mut part),
            ) {
                let t = GradBlock {
                    x,
                    dy,
                    items,
                    outs,
                    first,
                };
                // SAFETY: `wide` is only set when the CPU has AVX2; `part` is `N * M * LANES`.
                unsafe { grad_block_avx2(t, p) };
                continue;
            }
        }
        grad_block(
            GradBlock {
                x,
                dy,
                items,
                outs,
                first,
            },
            &mut part,
        );
    }
    for (g, p) in dw.iter_mut().zip(part.chunks_exact(LANES)) {
        if let Ok(lanes) = <&[T; LANES]>::try_from(p) {
            *g += super::kernels::combine_lanes(lanes);
        }
    }
    super::workspace::give(part);
}

/// [`weight_grad_with`] with the AVX2 tiles when the CPU has AVX2.
fn weight_grad<T: Real>(x: &[&[T]], dy: &[&[T]], items: usize, outs: usize, dw: &mut [T]) {
    weight_grad_with(x, dy, (items, outs), dw, has_avx2());
}

/// A contiguous row-major copy of `w` (`[in, out]`), or of its transpose.
fn dense_copy<T: Real>(w: &ArrayView2<T>, transpose: bool) -> Vec<T> {
    if transpose {
        w.t().iter().copied().collect()
    } else {
        w.iter().copied().collect()
    }
}

/// Forward pass: `x [B, N, E]`, `w [N, M]`, optional `b [M]` -> `[B, M, E]`.
///
/// # Panics
/// If the shapes do not agree.
pub fn forward<T: Real>(x: ArrayView3<T>, w: ArrayView2<T>, b: Option<ArrayView1<T>>) -> Array3<T> {
    let (batch, _, emb) = x.dim();
    let mut y = Array3::zeros((batch, w.ncols(), emb));
    forward_into(x, w, b, y.view_mut());
    y
}

/// [`forward`] into a preallocated `y [B, M, E]` (overwritten).
///
/// # Panics
/// If the shapes do not agree.
pub fn forward_into<T: Real>(
    x: ArrayView3<T>,
    w: ArrayView2<T>,
    b: Option<ArrayView1<T>>,
    mut y: ArrayViewMut3<T>,
) {
    let (batch, items, emb) = x.dim();
    assert_eq!(
        items,
        w.nrows(),
        "linear_items: input has {items} items but the weight has {} rows",
        w.nrows()
    );
    assert_eq!(
        y.dim(),
        (batch, w.ncols(), emb),
        "linear_items: output is {:?}, expected {:?}",
        y.dim(),
        (batch, w.ncols(), emb)
    );
    if let Some(b) = &b {
        assert_eq!(
            b.len(),
            w.ncols(),
            "linear_items: bias has {} entries for {} outputs",
            b.len(),
            w.ncols()
        );
    }
    if emb == FAST_EMB {
        if let Some(ys) = y.as_slice_mut() {
            // An item slice of a wider tensor is read in place (any other layout copied once:
            // far cheaper than one packed GEMM per example).
            let xs = ExampleBlocks::new(x);
            let bias: Option<Vec<T>> = b.as_ref().map(|b| b.iter().copied().collect());
            product_batch(
                &dense_copy(&w, false),
                w.ncols(),
                &xs.blocks(),
                ys,
                bias.as_deref(),
                false,
            );
            return;
        }
    }
    let wt = w.t();
    for (xb, mut yb) in x.outer_iter().zip(y.outer_iter_mut()) {
        general_mat_mul(T::one(), &wt, &xb, T::zero(), &mut yb);
        if let Some(b) = &b {
            for (mut row, &bm) in yb.rows_mut().into_iter().zip(b.iter()) {
                row.mapv_inplace(|v| v + bm);
            }
        }
    }
}

/// `y += ` the item-axis product of `x` and `w` (no bias) into an existing `y [B, M, E]`: the
/// embedded FC over an item-axis concatenation of inputs, one input (and its block of rows of
/// `w`) at a time.
///
/// # Panics
/// If the shapes do not agree.
pub fn forward_add_into<T: Real>(x: ArrayView3<T>, w: ArrayView2<T>, mut y: ArrayViewMut3<T>) {
    let (batch, items, emb) = x.dim();
    assert_eq!(
        items,
        w.nrows(),
        "linear_items: input has {items} items but the weight has {} rows",
        w.nrows()
    );
    assert_eq!(
        y.dim(),
        (batch, w.ncols(), emb),
        "linear_items: output is {:?}, expected {:?}",
        y.dim(),
        (batch, w.ncols(), emb)
    );
    if emb == FAST_EMB {
        if let Some(ys) = y.as_slice_mut() {
            let xs = ExampleBlocks::new(x);
            product_batch(
                &dense_copy(&w, false),
                w.ncols(),
                &xs.blocks(),
                ys,
                None,
                true,
            );
            return;
        }
    }
    let wt = w.t();
    for (xb, mut yb) in x.outer_iter().zip(y.outer_iter_mut()) {
        general_mat_mul(T::one(), &wt, &xb, T::one(), &mut yb);
    }
}

/// Backward pass from the forward input: accumulates `dw[n,m] += sum_{b,e} x[b,n,e] dy[b,m,e]`
/// and `db[m] += sum_{b,e} dy[b,m,e]`; returns `dx [B, N, E]`.
///
/// # Panics
/// If the shapes do not agree.
pub fn backward<T: Real>(
    x: ArrayView3<T>,
    w: ArrayView2<T>,
    dy: ArrayView3<T>,
    dw: ArrayViewMut2<T>,
    db: Option<ArrayViewMut1<T>>,
) -> Array3<T> {
    let (batch, items, emb) = x.dim();
    let mut dx = Array3::zeros((batch, items, emb));
    backward_into(x, w, dy, (dw, db), dx.view_mut(), false);
    dx
}

/// [`backward`] writing `dx` into `dx [B, N, E]`: overwritten, or added to when `accumulate`
/// (an input whose gradient already holds another consumer's part: no temporary, no extra pass;
/// the same bits as adding [`backward`]'s result).
///
/// # Panics
/// If the shapes do not agree.
pub fn backward_into<T: Real>(
    x: ArrayView3<T>,
    w: ArrayView2<T>,
    dy: ArrayView3<T>,
    (mut dw, db): (ArrayViewMut2<T>, Option<ArrayViewMut1<T>>),
    mut dx: ArrayViewMut3<T>,
    accumulate: bool,
) {
    let (batch, items, emb) = x.dim();
    let outs = w.ncols();
    assert_eq!(
        items,
        w.nrows(),
        "linear_items backward: input has {items} items but the weight has {} rows",
        w.nrows()
    );
    assert_eq!(
        dy.dim(),
        (batch, outs, emb),
        "linear_items backward: dy is {:?}, expected {:?}",
        dy.dim(),
        (batch, outs, emb)
    );
    assert_eq!(
        dw.dim(),
        w.dim(),
        "linear_items backward: dw is {:?}, weight {:?}",
        dw.dim(),
        w.dim()
    );
    assert_eq!(
        dx.dim(),
        x.dim(),
        "linear_items backward: dx is {:?}, input {:?}",
        dx.dim(),
        x.dim()
    );
    let fast = (emb == FAST_EMB).then(|| (ExampleBlocks::new(x), ExampleBlocks::new(dy)));
    if let (Some((xs, dys)), Some(dxs)) = (&fast, dx.as_slice_mut()) {
        let (xs, dys) = (xs.blocks(), dys.blocks());
        // dx_b (+)= W dy_b: the forward kernel with the transposed weight ([M, N] row-major).
        product_batch(&dense_copy(&w, true), items, &dys, dxs, None, accumulate);
        match dw.as_slice_mut() {
            Some(dws) => weight_grad(&xs, &dys, items, outs, dws),
            None => {
                let mut acc = vec![T::zero(); items * outs];
                weight_grad(&xs, &dys, items, outs, &mut acc);
                dw.iter_mut().zip(&acc).for_each(|(g, &a)| *g += a);
            }
        }
    } else {
        let beta = if accumulate { T::one() } else { T::zero() };
        for ((xb, dyb), mut dxb) in x.outer_iter().zip(dy.outer_iter()).zip(dx.outer_iter_mut()) {
            general_mat_mul(T::one(), &xb, &dyb.t(), T::one(), &mut dw);
            general_mat_mul(T::one(), &w, &dyb, beta, &mut dxb);
        }
    }
    if let Some(mut db) = db {
        assert_eq!(
            db.len(),
            outs,
            "linear_items backward: bias gradient has {} entries for {outs} outputs",
            db.len()
        );
        for dyb in dy.outer_iter() {
            for (d, row) in db.iter_mut().zip(dyb.rows()) {
                *d += row.sum();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(seed: u64, len: usize) -> Vec<f32> {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        (0..len).map(|_| r.random_range(-2.0f32..2.0)).collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// `data` as consecutive example blocks of `len` values.
    fn blocks<T>(data: &[T], len: usize) -> Vec<&[T]> {
        data.chunks_exact(len).collect()
    }

    /// The AVX2 build of both kernels gives the baseline build's bits (same operations in the
    /// same order), for shapes with partial row and column blocks (N = 7, M = 21 = 16 + 5).
    #[test]
    fn avx2_and_baseline_builds_agree_bitwise() {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            let (batch, items, outs) = (11, 7, 21);
            let a = random(1, items * outs);
            let input = random(2, batch * items * FAST_EMB);
            let bias = random(3, outs);
            let start = random(4, batch * outs * FAST_EMB);
            let xs = blocks(&input, items * FAST_EMB);
            for (b, acc) in [(Some(&bias[..]), false), (None, false), (None, true)] {
                let mut base = start.clone();
                let mut wide = start.clone();
                product_batch_with(&a, outs, &xs, &mut base, (b, acc), false);
                product_batch_with(&a, outs, &xs, &mut wide, (b, acc), true);
                assert_eq!(
                    bits(&base),
                    bits(&wide),
                    "bias {} accumulate {acc}",
                    b.is_some()
                );
            }
            let dy = random(5, batch * outs * FAST_EMB);
            let mut base = random(6, items * outs);
            let mut wide = base.clone();
            let dys = blocks(&dy, outs * FAST_EMB);
            weight_grad_with(&xs, &dys, (items, outs), &mut base, false);
            weight_grad_with(&xs, &dys, (items, outs), &mut wide, true);
            assert_eq!(bits(&base), bits(&wide), "weight gradient");
            return;
        }
        eprintln!("no AVX2 on this CPU: only the baseline build exists to test");
    }

    /// An item slice of a wider tensor (strided, as the dense-to-sparse merger passes it) takes
    /// the fast path, read in place, and gives exactly what its contiguous copy gives; so do
    /// reversed items (a layout read through a copy).
    #[test]
    fn strided_items_equal_their_contiguous_copy() {
        let wide = ndarray::Array3::from_shape_vec((3, 9, FAST_EMB), random(7, 3 * 9 * FAST_EMB))
            .unwrap_or_else(|e| panic!("{e}"));
        let x = wide.slice(ndarray::s![.., 2..8, ..]);
        assert!(!x.is_standard_layout());
        let owned = x.to_owned();
        let w = Array2::from_shape_vec((6, 5), random(8, 30)).unwrap_or_else(|e| panic!("{e}"));
        let b = ndarray::Array1::from(random(9, 5));
        let strided = forward(x, w.view(), Some(b.view()));
        let contiguous = forward(owned.view(), w.view(), Some(b.view()));
        assert_eq!(strided, contiguous);
        let dy = ndarray::Array3::from_shape_vec((3, 5, FAST_EMB), random(10, 3 * 5 * FAST_EMB))
            .unwrap_or_else(|e| panic!("{e}"));
        let (mut dw1, mut dw2) = (Array2::zeros((6, 5)), Array2::zeros((6, 5)));
        let dx1 = backward(x, w.view(), dy.view(), dw1.view_mut(), None);
        let dx2 = backward(owned.view(), w.view(), dy.view(), dw2.view_mut(), None);
        assert_eq!((dx1, dw1), (dx2, dw2));
        let reversed = wide.slice(ndarray::s![.., 2..8;-1, ..]);
        let w9 = Array2::from_shape_vec((6, 5), random(11, 30)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            forward(reversed, w9.view(), None),
            forward(reversed.to_owned().view(), w9.view(), None)
        );
    }

    /// The accumulating forms (`forward_add_into`, `backward_into` with `accumulate`) give the
    /// bits of adding the separate results, on the register-blocked path (E = 16) and the GEMM
    /// path (E = 5).
    #[test]
    fn accumulating_forms_equal_adding_separate_results() {
        for emb in [FAST_EMB, 5] {
            let (batch, items, outs) = (3, 6, 5);
            let shape3 = |n: usize, seed: u64| {
                ndarray::Array3::from_shape_vec((batch, n, emb), random(seed, batch * n * emb))
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            let (x, dy, start_y, start_dx) = (
                shape3(items, 1),
                shape3(outs, 2),
                shape3(outs, 3),
                shape3(items, 4),
            );
            let w = Array2::from_shape_vec((items, outs), random(5, items * outs))
                .unwrap_or_else(|e| panic!("{e}"));
            let mut y = start_y.clone();
            forward_add_into(x.view(), w.view(), y.view_mut());
            assert_eq!(
                y,
                &start_y + &forward(x.view(), w.view(), None),
                "forward, E {emb}"
            );
            let (mut dw1, mut dw2) = (Array2::zeros((items, outs)), Array2::zeros((items, outs)));
            let dx = backward(x.view(), w.view(), dy.view(), dw1.view_mut(), None);
            let mut acc = start_dx.clone();
            backward_into(
                x.view(),
                w.view(),
                dy.view(),
                (dw2.view_mut(), None),
                acc.view_mut(),
                true,
            );
            assert_eq!(acc, &start_dx + &dx, "dx, E {emb}");
            assert_eq!(dw1, dw2, "dw, E {emb}");
        }
    }

    /// The kernels against the definition, in f64, with every block shape (N odd, M with a
    /// partial column block and a partial row block).
    #[test]
    fn kernels_match_the_definition() {
        let mut r = ChaCha8Rng::seed_from_u64(9);
        // Batches of 2 and of 11 (a full block of GRAD_EXAMPLES and a partial one).
        for (batch, items, outs) in [(2, 1, 1), (11, 5, 3), (2, 7, 21), (11, 8, 32), (2, 2, 48)] {
            let e = FAST_EMB;
            let w = Array2::from_shape_fn((items, outs), |_| r.random_range(-1.0f64..1.0));
            let x: Vec<f64> = (0..batch * items * e)
                .map(|_| r.random_range(-1.0..1.0))
                .collect();
            let dy: Vec<f64> = (0..batch * outs * e)
                .map(|_| r.random_range(-1.0..1.0))
                .collect();
            let mut y = vec![f64::NAN; batch * outs * e];
            let (xs, dys) = (blocks(&x, items * e), blocks(&dy, outs * e));
            product_batch(
                &dense_copy(&w.view(), false),
                outs,
                &xs,
                &mut y,
                None,
                false,
            );
            let mut dw = vec![0.5; items * outs];
            weight_grad(&xs, &dys, items, outs, &mut dw);
            for b in 0..batch {
                for m in 0..outs {
                    for k in 0..e {
                        let want: f64 = (0..items)
                            .map(|n| w[[n, m]] * x[(b * items + n) * e + k])
                            .sum();
                        let got = y[(b * outs + m) * e + k];
                        assert!(
                            (got - want).abs() < 1e-12,
                            "y {items}x{outs}: {got} vs {want}"
                        );
                    }
                }
            }
            for n in 0..items {
                for m in 0..outs {
                    let want: f64 = 0.5
                        + (0..batch)
                            .flat_map(|b| (0..e).map(move |k| (b, k)))
                            .map(|(b, k)| x[(b * items + n) * e + k] * dy[(b * outs + m) * e + k])
                            .sum::<f64>();
                    let got = dw[n * outs + m];
                    assert!(
                        (got - want).abs() < 1e-12,
                        "dw {items}x{outs}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
