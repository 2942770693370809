//! One set of f32 vector operations at two widths, under the same names: [`v8`] (AVX2 + FMA,
//! eight lanes) and [`v16`] (AVX-512F, sixteen lanes). A kernel body written once against these
//! names (as `attention_head2`'s) compiles to either width, so the two copies cannot drift.
//!
//! Lane for lane both widths execute the same operations in the same order (the same FMAs, the
//! same exponential), so element-wise results have the same bits at either width; only the
//! horizontal reductions (`hsum`, `hsum3`) add lanes in a different order.
//!
//! Every function is `unsafe` for the one reason intrinsics are: the CPU must have the module's
//! features (callers check with `is_x86_feature_detected!`); pointer arguments must be valid for
//! the full vector unless a function says otherwise.

#![cfg(target_arch = "x86_64")]

/// Eight lanes: AVX2 + FMA.
pub(crate) mod v8 {
    use std::arch::x86_64::*;

    /// One vector.
    pub(crate) type V = __m256;
    /// Which lanes of a row's last (partial) vector hold real elements.
    pub(crate) type Tail = __m256i;
    /// Lanes per vector.
    pub(crate) const LANES: usize = 8;
    /// Vectors per row a kernel may keep in registers for each of four arrays at once (16
    /// registers: none to spare).
    pub(crate) const REGISTER_CHUNKS: usize = 0;

    /// True when this CPU runs this module.
    pub(crate) fn available() -> bool {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }

    /// Lanes `< rem` set (all lanes when `rem == LANES`).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn tail_mask(rem: usize) -> Tail {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(rem as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn splat(x: f32) -> V {
        _mm256_set1_ps(x)
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn zero() -> V {
        _mm256_setzero_ps()
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn load(p: *const f32) -> V {
        _mm256_loadu_ps(p)
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn store(p: *mut f32, v: V) {
        _mm256_storeu_ps(p, v)
    }

    /// Loads the `tail` lanes at `p` (only those need be valid); the others read as zero.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn load_tail(p: *const f32, tail: Tail) -> V {
        _mm256_maskload_ps(p, tail)
    }

    /// Stores the `tail` lanes of `v` at `p`. With `may_spill` the whole vector is stored instead
    /// (all of it must then be valid to write): AMD cores run `vmaskmovps` stores as microcode,
    /// so a caller whose next write covers the spilled lanes anyway asks for the plain store.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn store_tail(p: *mut f32, tail: Tail, v: V, may_spill: bool) {
        if may_spill {
            _mm256_storeu_ps(p, v)
        } else {
            _mm256_maskstore_ps(p, tail, v)
        }
    }

    /// `v` with the lanes outside `tail` set to +0.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn keep_tail(v: V, tail: Tail) -> V {
        _mm256_and_ps(v, _mm256_castsi256_ps(tail))
    }

    /// `v` with the lanes outside `tail` set to `fill`.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn fill_outside_tail(v: V, tail: Tail, fill: V) -> V {
        _mm256_blendv_ps(fill, v, _mm256_castsi256_ps(tail))
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn add(a: V, b: V) -> V {
        _mm256_add_ps(a, b)
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn sub(a: V, b: V) -> V {
        _mm256_sub_ps(a, b)
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn mul(a: V, b: V) -> V {
        _mm256_mul_ps(a, b)
    }

    /// `a b + c`, one rounding.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn fmadd(a: V, b: V, c: V) -> V {
        _mm256_fmadd_ps(a, b, c)
    }

    /// `c - a b`, one rounding.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn fnmadd(a: V, b: V, c: V) -> V {
        _mm256_fnmadd_ps(a, b, c)
    }

    /// Lane-wise minimum; the second operand when either is NaN.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn min(a: V, b: V) -> V {
        _mm256_min_ps(a, b)
    }

    /// Lane-wise maximum; the second operand when either is NaN.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn max(a: V, b: V) -> V {
        _mm256_max_ps(a, b)
    }

    /// The f32 whose bits are each lane's bits shifted left by 23 (into the exponent field).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn shift_into_exponent(v: V) -> V {
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(v), 23))
    }

    /// Sum of the lanes: halves, then quarters, then pairs.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn hsum(v: V) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55)))
    }

    /// The sums of the lanes of three vectors at once (pairwise horizontal adds: fewer
    /// operations than three [`hsum`]s, in a different order).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn hsum3(a: V, b: V, c: V) -> (f32, f32, f32) {
        let t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, c));
        let s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
        let mut out = [0.0f32; 4];
        _mm_storeu_ps(out.as_mut_ptr(), s);
        (out[0], out[1], out[2])
    }

    /// Maximum of the lanes.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn hmax(v: V) -> f32 {
        let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_max_ss(s, _mm_shuffle_ps(s, s, 0x55)))
    }

    /// The eight rows of an 8 x 8 block transposed: `out[c]` holds lane `c` of every row.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn transpose8(r: [V; 8]) -> [V; 8] {
        let t = [
            _mm256_unpacklo_ps(r[0], r[1]),
            _mm256_unpackhi_ps(r[0], r[1]),
            _mm256_unpacklo_ps(r[2], r[3]),
            _mm256_unpackhi_ps(r[2], r[3]),
            _mm256_unpacklo_ps(r[4], r[5]),
            _mm256_unpackhi_ps(r[4], r[5]),
            _mm256_unpacklo_ps(r[6], r[7]),
            _mm256_unpackhi_ps(r[6], r[7]),
        ];
        let u = [
            _mm256_shuffle_ps::<0x44>(t[0], t[2]),
            _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
            _mm256_shuffle_ps::<0x44>(t[1], t[3]),
            _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
            _mm256_shuffle_ps::<0x44>(t[4], t[6]),
            _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
            _mm256_shuffle_ps::<0x44>(t[5], t[7]),
            _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
        ];
        [
            _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
            _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
            _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
            _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
            _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
            _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
            _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
            _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
        ]
    }

    /// `dst[c * dst_stride + r] = src[r * src_stride + c]` for `r < rows`, `c < cols`: a block
    /// of rows transposed (8 x 8 register transposes where whole blocks fit, single values
    /// elsewhere; a pure copy, so the same values either way). The attention kernels use it
    /// both ways between `[N, E]` item rows and head-major `[E, padded]` rows.
    ///
    /// # Panics
    /// If `src` or `dst` holds too few values for its rows.
    #[target_feature(enable = "avx2,fma")]
    pub(crate) unsafe fn transpose(
        src: &[f32],
        src_stride: usize,
        (rows, cols): (usize, usize),
        dst: &mut [f32],
        dst_stride: usize,
    ) {
        if rows == 0 || cols == 0 {
            return;
        }
        assert!(cols <= src_stride && rows <= dst_stride);
        assert!(src.len() >= (rows - 1) * src_stride + cols);
        assert!(dst.len() >= (cols - 1) * dst_stride + rows);
        let (full_rows, full_cols) = (rows - rows % LANES, cols - cols % LANES);
        for r in (0..full_rows).step_by(LANES) {
            for c in (0..full_cols).step_by(LANES) {
                // In bounds: rows r..r+8, columns c..c+8 of src; rows c..c+8, columns r..r+8
                // of dst (checked above).
                let block =
                    std::array::from_fn(|i| load(src.as_ptr().add((r + i) * src_stride + c)));
                for (i, column) in transpose8(block).into_iter().enumerate() {
                    store(dst.as_mut_ptr().add((c + i) * dst_stride + r), column);
                }
            }
        }
        for r in 0..rows {
            let columns = if r < full_rows {
                full_cols..cols
            } else {
                0..cols
            };
            for c in columns {
                dst[c * dst_stride + r] = src[r * src_stride + c];
            }
        }
    }
}

/// Sixteen lanes: AVX-512F (the kernels using it also enable AVX2 + FMA for their scalar parts).
pub(crate) mod v16 {
    use std::arch::x86_64::*;

    /// One vector.
    pub(crate) type V = __m512;
    /// Which lanes of a row's last (partial) vector hold real elements.
    pub(crate) type Tail = __mmask16;
    /// Lanes per vector.
    pub(crate) const LANES: usize = 16;
    /// Vectors per row a kernel may keep in registers for each of four arrays at once (16 of
    /// the 32 registers).
    pub(crate) const REGISTER_CHUNKS: usize = 4;

    /// True when this CPU runs this module.
    pub(crate) fn available() -> bool {
        super::v8::available() && std::is_x86_feature_detected!("avx512f")
    }

    /// Lanes `< rem` set (all lanes when `rem == LANES`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn tail_mask(rem: usize) -> Tail {
        if rem >= LANES {
            Tail::MAX
        } else {
            (1 << rem) - 1
        }
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn splat(x: f32) -> V {
        _mm512_set1_ps(x)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn zero() -> V {
        _mm512_setzero_ps()
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn load(p: *const f32) -> V {
        _mm512_loadu_ps(p)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn store(p: *mut f32, v: V) {
        _mm512_storeu_ps(p, v)
    }

    /// Loads the `tail` lanes at `p` (only those need be valid); the others read as zero.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn load_tail(p: *const f32, tail: Tail) -> V {
        _mm512_maskz_loadu_ps(tail, p)
    }

    /// Stores the `tail` lanes of `v` at `p`. Masked stores are as cheap as plain ones here, so
    /// `may_spill` (see [`super::v8::store_tail`]) is not needed.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn store_tail(p: *mut f32, tail: Tail, v: V, _may_spill: bool) {
        _mm512_mask_storeu_ps(p, tail, v)
    }

    /// `v` with the lanes outside `tail` set to +0.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn keep_tail(v: V, tail: Tail) -> V {
        _mm512_maskz_mov_ps(tail, v)
    }

    /// `v` with the lanes outside `tail` set to `fill`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn fill_outside_tail(v: V, tail: Tail, fill: V) -> V {
        _mm512_mask_blend_ps(tail, fill, v)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn add(a: V, b: V) -> V {
        _mm512_add_ps(a, b)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn sub(a: V, b: V) -> V {
        _mm512_sub_ps(a, b)
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn mul(a: V, b: V) -> V {
        _mm512_mul_ps(a, b)
    }

    /// `a b + c`, one rounding.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn fmadd(a: V, b: V, c: V) -> V {
        _mm512_fmadd_ps(a, b, c)
    }

    /// `c - a b`, one rounding.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn fnmadd(a: V, b: V, c: V) -> V {
        _mm512_fnmadd_ps(a, b, c)
    }

    /// Lane-wise minimum; the second operand when either is NaN (as `vminps` at any width).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn min(a: V, b: V) -> V {
        _mm512_min_ps(a, b)
    }

    /// Lane-wise maximum; the second operand when either is NaN.
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn max(a: V, b: V) -> V {
        _mm512_max_ps(a, b)
    }

    /// The f32 whose bits are each lane's bits shifted left by 23 (into the exponent field).
    #[target_feature(enable = "avx512f")]
    #[inline]
    pub(crate) unsafe fn shift_into_exponent(v: V) -> V {
        _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_castps_si512(v)))
    }

    /// The low and high 256-bit halves of `v`: the first step of every horizontal reduction.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn halves(v: V) -> (__m256, __m256) {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        (_mm512_castps512_ps256(v), hi)
    }

    /// `v`'s two halves added lane-wise.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    unsafe fn folded_sum(v: V) -> __m256 {
        let (lo, hi) = halves(v);
        _mm256_add_ps(lo, hi)
    }

    /// Sum of the lanes: 256-bit halves, then as [`super::v8::hsum`].
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    pub(crate) unsafe fn hsum(v: V) -> f32 {
        super::v8::hsum(folded_sum(v))
    }

    /// The sums of the lanes of three vectors at once: 256-bit halves, then as
    /// [`super::v8::hsum3`].
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    pub(crate) unsafe fn hsum3(a: V, b: V, c: V) -> (f32, f32, f32) {
        super::v8::hsum3(folded_sum(a), folded_sum(b), folded_sum(c))
    }

    /// Maximum of the lanes.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    pub(crate) unsafe fn hmax(v: V) -> f32 {
        let (lo, hi) = halves(v);
        super::v8::hmax(_mm256_max_ps(lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::v8;

    /// The register transpose against its definition, with whole 8 x 8 blocks, partial ones
    /// (rows and columns not multiples of 8), padding left as it was, and back again.
    #[test]
    fn transpose_matches_its_definition_and_inverts() {
        if !v8::available() {
            eprintln!("no AVX2 + FMA on this CPU: the transpose is not used");
            return;
        }
        for (items, emb, row) in [
            (64, 16, 64),
            (13, 16, 16),
            (21, 12, 32),
            (5, 3, 8),
            (8, 8, 8),
        ] {
            let src: Vec<f32> = (0..items * emb).map(|i| i as f32 * 0.5 - 7.0).collect();
            let mut cols = vec![f32::NAN; emb * row];
            // SAFETY: AVX2 + FMA present (checked); sizes as the function requires.
            unsafe { v8::transpose(&src, emb, (items, emb), &mut cols, row) };
            for d in 0..emb {
                for j in 0..row {
                    let got = cols[d * row + j];
                    if j < items {
                        assert_eq!(got, src[j * emb + d], "[{d}][{j}] of {items} x {emb}");
                    } else {
                        assert!(got.is_nan(), "padding [{d}][{j}] written");
                    }
                }
            }
            let mut back = vec![0.0; items * emb];
            // SAFETY: as above.
            unsafe { v8::transpose(&cols, row, (emb, items), &mut back, emb) };
            assert_eq!(back, src, "{items} x {emb}");
        }
    }
}
