//! The saved-state format of a `NetModel`: little-endian binary
//! `magic "RPIMNET\0" | version u32 | name (u32 len + UTF-8) | dense tensors | dense Adagrad sums |
//! embedding tables | embedding Adagrad sums`, every tensor as `rows u64 | cols u64 | f32 data`,
//! every list prefixed with its u32 length. Loading checks every shape before changing anything.

use super::network::Network;
use crate::error::{ModelError, Result};
use ndarray::Array2;
use std::io::{Read, Write};

const MAGIC: &[u8; 8] = b"RPIMNET\0";
const VERSION: u32 = 1;

fn io_err(e: std::io::Error) -> ModelError {
    ModelError::Checkpoint(format!("model state: {e}"))
}

fn put_u32(out: &mut dyn Write, v: u32) -> Result<()> {
    out.write_all(&v.to_le_bytes()).map_err(io_err)
}

fn put_u64(out: &mut dyn Write, v: u64) -> Result<()> {
    out.write_all(&v.to_le_bytes()).map_err(io_err)
}

fn put_tensor(out: &mut dyn Write, a: &Array2<f32>) -> Result<()> {
    put_u64(out, a.nrows() as u64)?;
    put_u64(out, a.ncols() as u64)?;
    let mut buf = Vec::with_capacity(a.len() * 4);
    for v in a.iter() {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    out.write_all(&buf).map_err(io_err)
}

fn put_list(out: &mut dyn Write, list: &[Array2<f32>]) -> Result<()> {
    put_u32(out, list.len() as u32)?;
    list.iter().try_for_each(|a| put_tensor(out, a))
}

fn put_groups(out: &mut dyn Write, groups: &[Vec<Array2<f32>>]) -> Result<()> {
    put_u32(out, groups.len() as u32)?;
    groups.iter().try_for_each(|g| put_list(out, g))
}

/// Writes a model's state.
pub fn write_state(
    out: &mut dyn Write,
    name: &str,
    net: &Network<f32>,
    dense_accum: &[Array2<f32>],
    table_accum: &[Vec<Array2<f32>>],
) -> Result<()> {
    out.write_all(MAGIC).map_err(io_err)?;
    put_u32(out, VERSION)?;
    put_u32(out, name.len() as u32)?;
    out.write_all(name.as_bytes()).map_err(io_err)?;
    put_list(out, &net.dense)?;
    put_list(out, dense_accum)?;
    put_groups(out, &net.tables)?;
    put_groups(out, table_accum)
}

fn get_u32(input: &mut dyn Read) -> Result<u32> {
    let mut b = [0u8; 4];
    input.read_exact(&mut b).map_err(io_err)?;
    Ok(u32::from_le_bytes(b))
}

fn get_u64(input: &mut dyn Read) -> Result<u64> {
    let mut b = [0u8; 8];
    input.read_exact(&mut b).map_err(io_err)?;
    Ok(u64::from_le_bytes(b))
}

fn get_tensor(input: &mut dyn Read, expect: &Array2<f32>, what: &str) -> Result<Array2<f32>> {
    let rows = get_u64(input)?;
    let cols = get_u64(input)?;
    if rows != expect.nrows() as u64 || cols != expect.ncols() as u64 {
        return Err(ModelError::Checkpoint(format!(
            "{what} has shape {rows}x{cols} in the saved state but {}x{} in this model",
            expect.nrows(),
            expect.ncols()
        )));
    }
    let mut buf = vec![0u8; expect.len() * 4];
    input.read_exact(&mut buf).map_err(io_err)?;
    let data: Vec<f32> = buf
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Array2::from_shape_vec(expect.raw_dim(), data)
        .map_err(|e| ModelError::Checkpoint(format!("{what}: {e}")))
}

fn get_list(input: &mut dyn Read, expect: &[Array2<f32>], what: &str) -> Result<Vec<Array2<f32>>> {
    let n = get_u32(input)? as usize;
    if n != expect.len() {
        return Err(ModelError::Checkpoint(format!(
            "{what}: {n} tensors in the saved state, {} in this model",
            expect.len()
        )));
    }
    expect
        .iter()
        .enumerate()
        .map(|(i, e)| get_tensor(input, e, &format!("{what}[{i}]")))
        .collect()
}

fn get_groups(
    input: &mut dyn Read,
    expect: &[Vec<Array2<f32>>],
    what: &str,
) -> Result<Vec<Vec<Array2<f32>>>> {
    let n = get_u32(input)? as usize;
    if n != expect.len() {
        return Err(ModelError::Checkpoint(format!(
            "{what}: {n} groups in the saved state, {} in this model",
            expect.len()
        )));
    }
    expect
        .iter()
        .enumerate()
        .map(|(g, e)| get_list(input, e, &format!("{what} group {g}")))
        .collect()
}

/// The four parts of a saved state.
pub type StateParts = (
    Vec<Array2<f32>>,
    Vec<Array2<f32>>,
    Vec<Vec<Array2<f32>>>,
    Vec<Vec<Array2<f32>>>,
);

/// Reads a state written by [`write_state`] for a model of the same name and shapes.
pub fn read_state(
    input: &mut dyn Read,
    name: &str,
    net: &Network<f32>,
    dense_accum: &[Array2<f32>],
    table_accum: &[Vec<Array2<f32>>],
) -> Result<StateParts> {
    let mut magic = [0u8; 8];
    input.read_exact(&mut magic).map_err(io_err)?;
    if &magic != MAGIC {
        return Err(ModelError::Checkpoint(
            "not a recpim model state (bad magic)".to_string(),
        ));
    }
    let version = get_u32(input)?;
    if version != VERSION {
        return Err(ModelError::Checkpoint(format!(
            "model state version {version}, this build reads {VERSION}"
        )));
    }
    let len = get_u32(input)? as usize;
    if len > 4096 {
        return Err(ModelError::Checkpoint(format!(
            "model name of {len} bytes is too long"
        )));
    }
    let mut nb = vec![0u8; len];
    input.read_exact(&mut nb).map_err(io_err)?;
    let saved = String::from_utf8_lossy(&nb);
    if saved != name {
        return Err(ModelError::Checkpoint(format!(
            "saved state is of model \"{saved}\", this model is \"{name}\""
        )));
    }
    let dense = get_list(input, &net.dense, "dense")?;
    let dacc = get_list(input, dense_accum, "dense adagrad")?;
    let tables = get_groups(input, &net.tables, "embedding")?;
    let tacc = get_groups(input, table_accum, "embedding adagrad")?;
    Ok((dense, dacc, tables, tacc))
}
