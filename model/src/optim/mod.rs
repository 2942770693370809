//! Optimisers: Adagrad over dense tensors and over the embedding rows a batch used, with the
//! global gradient-norm clip of `torch.nn.utils.clip_grad_norm_`.

mod adagrad;

pub use adagrad::{adagrad_dense, adagrad_rows, clip_coefficient, squared_norm};
