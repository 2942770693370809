//! Graph-building helpers: the primitive layers as nodes, and the composite NASRec operators
//! (nasrec-spec §1) built from them. "LN" is applied only when `ln` (the genotype's / the
//! options' LayerNorm switch) is on; a Linear has a bias exactly when LN is off, unless the spec
//! states otherwise (sigmoid gating's two Linears always have one).

use super::graph::{
    concat_runs, interaction_runs, AttentionIds, GraphBuilder, Layout, Op, Shape, ValueId,
};
use super::params::{Init, RowRun};
use crate::genotype::{DENSE_DIMS, EMBED_DIM, SPARSE_DIMS};

/// Largest dense width of a block's output.
pub const MAX_DENSE: usize = DENSE_DIMS[DENSE_DIMS.len() - 1];
/// Largest item count of a sparse node's output.
pub const MAX_ITEMS: usize = SPARSE_DIMS[SPARSE_DIMS.len() - 1];
/// Items the dense-to-sparse merger appends (`DS_INTERACT_NUM_SPLITS`).
pub const DSI_ITEMS: usize = 8;
/// LayerNorm epsilon (PyTorch's default).
pub const LN_EPS: f64 = 1e-5;
/// Gain of the transformer's two residual LayerNorms (`LN_INIT`).
pub const TRANSFORMER_LN_GAIN: f64 = 0.17;

/// Items of the operator-balancing projection for a dense width d: `round(sqrt(2d))`.
pub fn balanced_items(d: usize) -> usize {
    ((2.0 * d as f64).sqrt()).round() as usize
}

/// Entries of the strict lower triangle of a `p x p` matrix.
pub fn tril_len(p: usize) -> usize {
    p * p.saturating_sub(1) / 2
}

impl GraphBuilder {
    /// A Linear over the feature-axis concatenation of `inputs`, each `(value, max offset)`;
    /// `max_in`/`max_out` are the supernet's weight shape.
    pub fn linear(
        &mut self,
        key: &str,
        inputs: &[(ValueId, usize)],
        max_in: usize,
        out: usize,
        max_out: usize,
        bias: bool,
    ) -> ValueId {
        let lens: Vec<usize> = inputs.iter().map(|&(v, _)| self.axis_len(v)).collect();
        let layouts: Vec<(&Layout, usize)> = inputs
            .iter()
            .map(|&(v, off)| (self.layout(v), off))
            .collect();
        let runs = concat_runs(&layouts, &lens);
        let rows: usize = lens.iter().sum();
        let w = self.param(
            format!("{key}.w"),
            Init::XavierUniform,
            (rows, out),
            (max_in, max_out),
            runs,
            true,
        );
        let out_layout = Layout::leading(out, max_out);
        let b = bias.then(|| self.vector(format!("{key}.b"), Init::Zeros, &out_layout, out));
        let ids = inputs.iter().map(|&(v, _)| v).collect();
        self.push(
            Op::Linear { inputs: ids, w, b },
            Shape::Flat(out),
            out_layout,
        )
    }

    /// Inputs placed at `(value, max offset)` along one concatenated axis: the embedding width
    /// of the first (16 for flat values), the compact length of the concatenation, and its row
    /// runs into the max axis.
    fn placed(&self, inputs: &[(ValueId, usize)]) -> (usize, usize, Vec<RowRun>) {
        let emb = match inputs.first().map(|&(v, _)| self.shape(v)) {
            Some(Shape::Items(_, e)) => e,
            _ => EMBED_DIM,
        };
        let lens: Vec<usize> = inputs.iter().map(|&(v, _)| self.axis_len(v)).collect();
        let layouts: Vec<(&Layout, usize)> = inputs
            .iter()
            .map(|&(v, off)| (self.layout(v), off))
            .collect();
        (emb, lens.iter().sum(), concat_runs(&layouts, &lens))
    }

    /// `inputs` with their max axes one after another, and the total max length.
    fn one_after_another(&self, inputs: &[ValueId]) -> (Vec<(ValueId, usize)>, usize) {
        let mut off = 0;
        let placed = inputs
            .iter()
            .map(|&v| {
                let slot = (v, off);
                off += self.layout(v).max_len;
                slot
            })
            .collect();
        (placed, off)
    }

    /// The embedded FC along the item axis of the item-concatenation of `inputs`.
    pub fn linear_items(
        &mut self,
        key: &str,
        inputs: &[(ValueId, usize)],
        max_in: usize,
        out: usize,
        max_out: usize,
        bias: bool,
    ) -> ValueId {
        let (emb, rows, runs) = self.placed(inputs);
        let w = self.param(
            format!("{key}.w"),
            Init::XavierUniform,
            (rows, out),
            (max_in, max_out),
            runs,
            true,
        );
        let out_layout = Layout::leading(out, max_out);
        let b = bias.then(|| self.vector(format!("{key}.b"), Init::Zeros, &out_layout, out));
        let ids = inputs.iter().map(|&(v, _)| v).collect();
        self.push(
            Op::LinearItems { inputs: ids, w, b },
            Shape::Items(out, emb),
            out_layout,
        )
    }

    /// LayerNorm over a flat value's features (gain 1, shift 0).
    pub fn layernorm(&mut self, key: &str, x: ValueId) -> ValueId {
        let n = self.axis_len(x);
        let layout = self.layout(x).clone();
        let g = self.vector(format!("{key}.g"), Init::Constant(1.0), &layout, n);
        let b = self.vector(format!("{key}.b"), Init::Zeros, &layout, n);
        self.push(Op::LayerNorm { x, g, b }, self.shape(x), layout)
    }

    /// LayerNorm over an itemised value's items.
    pub fn layernorm_items(&mut self, key: &str, x: ValueId) -> ValueId {
        let n = self.axis_len(x);
        let layout = self.layout(x).clone();
        let g = self.vector(format!("{key}.g"), Init::Constant(1.0), &layout, n);
        let b = self.vector(format!("{key}.b"), Init::Zeros, &layout, n);
        self.push(Op::LayerNormItems { x, g, b }, self.shape(x), layout)
    }

    /// max(x, 0).
    pub fn relu(&mut self, x: ValueId) -> ValueId {
        let l = self.layout(x).clone();
        self.push(Op::Relu(x), self.shape(x), l)
    }

    /// Logistic sigmoid.
    pub fn sigmoid(&mut self, x: ValueId) -> ValueId {
        let l = self.layout(x).clone();
        self.push(Op::Sigmoid(x), self.shape(x), l)
    }

    /// Flat values zero-padded to the widest and added.
    pub fn add_padded(&mut self, inputs: &[ValueId]) -> ValueId {
        if inputs.len() == 1 {
            return inputs[0];
        }
        let width = inputs.iter().map(|&v| self.axis_len(v)).max().unwrap_or(0);
        let max_len = inputs
            .iter()
            .map(|&v| self.layout(v).max_len)
            .max()
            .unwrap_or(0);
        self.push(
            Op::AddPadded {
                inputs: inputs.to_vec(),
            },
            Shape::Flat(width),
            Layout::leading(width, max_len),
        )
    }

    /// Itemised values of one shape added.
    pub fn add_items(&mut self, inputs: &[ValueId]) -> ValueId {
        if inputs.len() == 1 {
            return inputs[0];
        }
        let l = self.layout(inputs[0]).clone();
        self.push(Op::AddItems(inputs.to_vec()), self.shape(inputs[0]), l)
    }

    /// `gate * pad(x)`.
    pub fn mul_padded(&mut self, gate: ValueId, x: ValueId) -> ValueId {
        let l = self.layout(gate).clone();
        self.push(Op::MulPadded { gate, x }, self.shape(gate), l)
    }

    /// Flat values concatenated on features (max layout: inputs' max axes one after another).
    pub fn concat_features(&mut self, inputs: &[ValueId]) -> ValueId {
        if inputs.len() == 1 {
            return inputs[0];
        }
        let (placed, max_len) = self.one_after_another(inputs);
        let (_, width, runs) = self.placed(&placed);
        self.push(
            Op::ConcatFeatures(inputs.to_vec()),
            Shape::Flat(width),
            Layout { runs, max_len },
        )
    }

    /// Itemised values concatenated on items (max layout: inputs' max axes one after another).
    pub fn concat_items(&mut self, inputs: &[ValueId]) -> ValueId {
        if inputs.len() == 1 {
            return inputs[0];
        }
        let (placed, max_len) = self.one_after_another(inputs);
        self.concat_items_at(&placed, max_len)
    }

    /// Itemised values concatenated on items, each input's max axis placed at its own slot
    /// `(value, max offset)` of a max item axis of `max_len` (the fixed concatenation order of all
    /// candidate inputs, whichever of them are read).
    pub fn concat_items_at(&mut self, inputs: &[(ValueId, usize)], max_len: usize) -> ValueId {
        let (emb, items, runs) = self.placed(inputs);
        let max_len = inputs
            .iter()
            .map(|&(v, off)| off + self.layout(v).max_len)
            .fold(max_len, usize::max);
        self.push(
            Op::ConcatItems(inputs.iter().map(|&(v, _)| v).collect()),
            Shape::Items(items, emb),
            Layout { runs, max_len },
        )
    }

    /// `[B, E]` as one item.
    pub fn as_item(&mut self, x: ValueId) -> ValueId {
        let e = self.axis_len(x);
        self.push(Op::AsItem(x), Shape::Items(1, e), Layout::leading(1, 1))
    }

    /// `[B, N, E]` flattened to `[B, N*E]` (max layout: item runs times E).
    pub fn flatten(&mut self, x: ValueId) -> ValueId {
        let (n, e) = match self.shape(x) {
            Shape::Items(n, e) => (n, e),
            Shape::Flat(f) => (f, 1),
        };
        let l = self.layout(x);
        let runs = l
            .runs
            .iter()
            .map(|r| RowRun {
                compact_start: r.compact_start * e,
                max_start: r.max_start * e,
                len: r.len * e,
            })
            .collect();
        let layout = Layout {
            runs,
            max_len: l.max_len * e,
        };
        self.push(Op::Flatten(x), Shape::Flat(n * e), layout)
    }

    /// `[B, items*E]` viewed as `[B, items, E]`.
    pub fn unflatten(&mut self, x: ValueId, items: usize) -> ValueId {
        let e = self.axis_len(x) / items.max(1);
        self.push(
            Op::Unflatten(x),
            Shape::Items(items, e),
            Layout::leading(items, items),
        )
    }

    /// Strict lower triangle of `T T^T`; its max layout has one row per pair of T's max item list,
    /// and each compact pair sits at the row of the pair of its items' max positions
    /// ([`interaction_runs`]).
    pub fn interaction(&mut self, t: ValueId) -> ValueId {
        let p = self.axis_len(t);
        let layout = self.layout(t);
        let runs = interaction_runs(layout, p);
        let max_p = layout.max_len.max(p);
        self.push(
            Op::Interaction(t),
            Shape::Flat(tril_len(p)),
            Layout {
                runs,
                max_len: tril_len(max_p),
            },
        )
    }

    /// Factorization machine over items, `[B, E]`.
    pub fn fm(&mut self, x: ValueId) -> ValueId {
        let e = match self.shape(x) {
            Shape::Items(_, e) => e,
            Shape::Flat(_) => EMBED_DIM,
        };
        self.push(Op::Fm(x), Shape::Flat(e), Layout::leading(e, e))
    }

    /// `scale * sum of features` -> `[B, 1]`.
    pub fn sum_features(&mut self, x: ValueId, scale: f64) -> ValueId {
        self.push(
            Op::SumFeatures { x, scale },
            Shape::Flat(1),
            Layout::leading(1, 1),
        )
    }

    /// One attention encoder layer (8 heads over 16 dims, FFN 16, two residual LNs of gain 0.17).
    pub fn attention(&mut self, key: &str, x: ValueId) -> ValueId {
        let e = EMBED_DIM;
        let l16 = Layout::leading(e, e);
        let mat = |b: &mut Self, name: &str, init: Init| {
            b.param(
                format!("{key}.{name}"),
                init,
                (e, e),
                (e, e),
                l16.runs.clone(),
                true,
            )
        };
        // Q, K, V are thirds of PyTorch's packed [3E, E] in-projection (xavier over 4E fans).
        let wq = mat(self, "wq", Init::XavierUniformFans(4 * e));
        let wk = mat(self, "wk", Init::XavierUniformFans(4 * e));
        let wv = mat(self, "wv", Init::XavierUniformFans(4 * e));
        let wo = mat(self, "wo", Init::XavierUniform);
        let w1 = mat(self, "ffn1_w", Init::XavierUniform);
        let w2 = mat(self, "ffn2_w", Init::XavierUniform);
        let vec =
            |b: &mut Self, name: &str, init: Init| b.vector(format!("{key}.{name}"), init, &l16, e);
        let bq = vec(self, "bq", Init::Zeros);
        let bk = vec(self, "bk", Init::Zeros);
        let bv = vec(self, "bv", Init::Zeros);
        let bo = vec(self, "bo", Init::Zeros);
        let b1 = vec(self, "ffn1_b", Init::Zeros);
        let b2 = vec(self, "ffn2_b", Init::Zeros);
        let ln1_g = vec(self, "ln1.g", Init::Constant(TRANSFORMER_LN_GAIN));
        let ln1_b = vec(self, "ln1.b", Init::Zeros);
        let ln2_g = vec(self, "ln2.g", Init::Constant(TRANSFORMER_LN_GAIN));
        let ln2_b = vec(self, "ln2.b", Init::Zeros);
        let params = AttentionIds {
            wq,
            wk,
            wv,
            wo,
            bq,
            bk,
            bv,
            bo,
            ln1_g,
            ln1_b,
            w1,
            b1,
            w2,
            b2,
            ln2_g,
            ln2_b,
        };
        let l = self.layout(x).clone();
        self.push(Op::Attention { x, params }, self.shape(x), l)
    }

    // ---- NASRec composite operators (nasrec-spec §1) ----

    /// `linear-2d`: Linear(in -> d) -> LN(d) -> ReLU over the concatenated dense inputs.
    pub fn nasrec_linear_2d(
        &mut self,
        key: &str,
        inputs: &[(ValueId, usize)],
        max_in: usize,
        d: usize,
        ln: bool,
    ) -> ValueId {
        let mut y = self.linear(&format!("{key}.fc"), inputs, max_in, d, MAX_DENSE, !ln);
        if ln {
            y = self.layernorm(&format!("{key}.ln"), y);
        }
        self.relu(y)
    }

    /// `sum`: zero-pad left and right to a common width w, add, Linear(w -> d) only if w != d,
    /// LN(d), no activation. `max_w` is the widest a left/right input can be.
    pub fn nasrec_sum(
        &mut self,
        key: &str,
        left: ValueId,
        right: ValueId,
        d: usize,
        max_w: usize,
        ln: bool,
    ) -> ValueId {
        let mut z = self.add_padded(&[left, right]);
        if self.axis_len(z) != d {
            z = self.linear(&format!("{key}.proj"), &[(z, 0)], max_w, d, MAX_DENSE, !ln);
        }
        if ln {
            z = self.layernorm(&format!("{key}.ln"), z);
        }
        z
    }

    /// `sigmoid-gating`: `sigmoid(Linear_{w->w}(pad(left))) * pad(right)`, then Linear(w -> d,
    /// bias) if w != d, LN(d), no activation.
    pub fn nasrec_gating(
        &mut self,
        key: &str,
        left: ValueId,
        right: ValueId,
        d: usize,
        max_w: usize,
        ln: bool,
    ) -> ValueId {
        let w = self.axis_len(left).max(self.axis_len(right));
        let pre = self.linear(&format!("{key}.gate"), &[(left, 0)], max_w, w, max_w, true);
        let gate = self.sigmoid(pre);
        let mut z = self.mul_padded(gate, right);
        if w != d {
            z = self.linear(&format!("{key}.proj"), &[(z, 0)], max_w, d, MAX_DENSE, true);
        }
        if ln {
            z = self.layernorm(&format!("{key}.ln"), z);
        }
        z
    }

    /// `dot-product`: dense -> 16 (Linear + LN) if its width is not 16; sparse items N -> p =
    /// round(sqrt(2d)) (Linear + LN) when `balancing`; strict lower triangle of `T T^T` with
    /// `T = [dense; items]`; Linear(-> d) if that size is not d; LN(d).
    ///
    /// Max layout: balanced, T's max item list is the dense item then the 45 projected items.
    /// Unbalanced, it is the dense item then every candidate sparse input at its max width in the
    /// fixed slot order (`sparse` carries each input's slot offset within `max_items_in`), so the
    /// output projection's max weight has one row per pair of those `1 + max_items_in` items and a
    /// subnet uses the rows of the pairs of its own items: the rows the reference's zero-masked
    /// inputs would multiply by non-zeros.
    #[allow(clippy::too_many_arguments)]
    pub fn nasrec_dot_product(
        &mut self,
        key: &str,
        dense: &[(ValueId, usize)],
        max_dense_in: usize,
        sparse: &[(ValueId, usize)],
        max_items_in: usize,
        d: usize,
        ln: bool,
        balancing: bool,
    ) -> ValueId {
        let width: usize = dense.iter().map(|&(v, _)| self.axis_len(v)).sum();
        let x = if width != EMBED_DIM {
            let x = self.linear(
                &format!("{key}.dense_proj"),
                dense,
                max_dense_in,
                EMBED_DIM,
                EMBED_DIM,
                !ln,
            );
            if ln {
                self.layernorm(&format!("{key}.dense_ln"), x)
            } else {
                x
            }
        } else {
            let ids: Vec<ValueId> = dense.iter().map(|&(v, _)| v).collect();
            self.concat_features(&ids)
        };
        let t = if balancing {
            let p = balanced_items(d);
            let y = self.linear_items(
                &format!("{key}.item_proj"),
                sparse,
                max_items_in,
                p,
                balanced_items(MAX_DENSE),
                !ln,
            );
            let y = if ln {
                self.layernorm_items(&format!("{key}.item_ln"), y)
            } else {
                y
            };
            let xi = self.as_item(x);
            self.concat_items(&[xi, y])
        } else {
            let xi = self.as_item(x);
            let mut placed = vec![(xi, 0)];
            placed.extend(sparse.iter().map(|&(v, off)| (v, 1 + off)));
            self.concat_items_at(&placed, 1 + max_items_in)
        };
        let mut z = self.interaction(t);
        let size = self.axis_len(z);
        if size != d {
            let max_in = self.layout(z).max_len;
            z = self.linear(
                &format!("{key}.out_proj"),
                &[(z, 0)],
                max_in,
                d,
                MAX_DENSE,
                !ln,
            );
        }
        if ln {
            z = self.layernorm(&format!("{key}.ln"), z);
        }
        z
    }

    /// `transformer`: item projection N -> s (+ LN(s)), then one attention encoder layer.
    pub fn nasrec_transformer(
        &mut self,
        key: &str,
        sparse: &[(ValueId, usize)],
        max_items_in: usize,
        s: usize,
        ln: bool,
    ) -> ValueId {
        let mut y = self.linear_items(
            &format!("{key}.item_proj"),
            sparse,
            max_items_in,
            s,
            MAX_ITEMS,
            !ln,
        );
        if ln {
            y = self.layernorm_items(&format!("{key}.item_ln"), y);
        }
        self.attention(&format!("{key}.attn"), y)
    }

    /// `linear-3d`: Linear(N -> s) on items -> LN(s) -> ReLU.
    pub fn nasrec_linear_3d(
        &mut self,
        key: &str,
        sparse: &[(ValueId, usize)],
        max_items_in: usize,
        s: usize,
        ln: bool,
    ) -> ValueId {
        let mut y = self.linear_items(
            &format!("{key}.fc"),
            sparse,
            max_items_in,
            s,
            MAX_ITEMS,
            !ln,
        );
        if ln {
            y = self.layernorm_items(&format!("{key}.ln"), y);
        }
        self.relu(y)
    }

    /// Dense-to-sparse merger: Linear(d -> 8*16) (+ LN(128)), reshaped to `[B, 8, 16]` and
    /// appended to the sparse output on items.
    pub fn nasrec_dense_to_sparse(
        &mut self,
        key: &str,
        dense: ValueId,
        sparse: ValueId,
        ln: bool,
    ) -> ValueId {
        let n = DSI_ITEMS * EMBED_DIM;
        let mut y = self.linear(&format!("{key}.fc"), &[(dense, 0)], MAX_DENSE, n, n, !ln);
        if ln {
            y = self.layernorm(&format!("{key}.ln"), y);
        }
        let items = self.unflatten(y, DSI_ITEMS);
        // Node outputs have a max layout of MAX_ITEMS items, so in the supernet the appended items
        // sit at positions 64..72 as in the reference's zero-masked tensors.
        self.concat_items(&[sparse, items])
    }

    /// Sparse-to-dense merger: FM over the (pre-merge) sparse output, Linear(16 -> d) (+ LN(d));
    /// the caller adds it to the dense output.
    pub fn nasrec_sparse_to_dense(
        &mut self,
        key: &str,
        sparse: ValueId,
        d: usize,
        ln: bool,
    ) -> ValueId {
        let f = self.fm(sparse);
        let mut y = self.linear(
            &format!("{key}.fc"),
            &[(f, 0)],
            EMBED_DIM,
            d,
            MAX_DENSE,
            !ln,
        );
        if ln {
            y = self.layernorm(&format!("{key}.ln"), y);
        }
        y
    }

    /// The logit layer: Linear over `[dense, flattened sparse]` to one logit (with bias); the
    /// supernet's weight has `max_dense + max_items * E` rows.
    pub fn logit_layer(
        &mut self,
        key: &str,
        dense: ValueId,
        sparse: ValueId,
        max_dense: usize,
        max_items: usize,
    ) -> ValueId {
        let emb = match self.shape(sparse) {
            Shape::Items(_, e) => e,
            Shape::Flat(_) => 1,
        };
        let flat = self.flatten(sparse);
        let dense_max = max_dense.max(self.layout(dense).max_len);
        let flat_max = (max_items * emb).max(self.layout(flat).max_len);
        self.linear(
            key,
            &[(dense, 0), (flat, dense_max)],
            dense_max + flat_max,
            1,
            1,
            true,
        )
    }
}
