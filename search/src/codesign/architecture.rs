//! The model part of a co-design genome, and how a run chooses it.
//!
//! With the built-in backend the model is a NASRec genotype that the search draws and mutates.
//! With a plugin backend the model is the plugin's genotype (its default or `--genotype`),
//! fixed for the whole run: recpim cannot mutate a genotype whose format only the plugin knows,
//! so such a run searches per-operator bits and hardware only.

use serde::{Deserialize, Serialize};

use recpim_model::genotype::Genotype;

use super::space::CodesignSpace;
use crate::error::{Result, SearchError};
use crate::nas::sampling::PathSampler;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A backend's model, the same in every genome of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedModel {
    /// Name of the backend the genotype is for (e.g. `dlrm`).
    pub backend: String,
    /// The genotype as the backend takes it. Objects keep their keys sorted, so its text (and
    /// hash) does not depend on how the file was written.
    pub genotype: serde_json::Value,
}

impl FixedModel {
    /// Parses a backend's genotype JSON text (`origin` names it in errors).
    pub fn from_json_str(backend: &str, text: &str, origin: &str) -> Result<FixedModel> {
        let genotype = serde_json::from_str(text).map_err(|e| SearchError::BackendInput {
            backend: backend.to_string(),
            what: origin.to_string(),
            reason: format!("does not parse as JSON: {e}"),
        })?;
        Ok(FixedModel {
            backend: backend.to_string(),
            genotype,
        })
    }

    /// The genotype's canonical JSON text, as handed to the backend.
    pub fn genotype_json(&self) -> String {
        self.genotype.to_string()
    }
}

/// The model of one design. Serialised untagged: a NASRec genome keeps the checkpoint format
/// it always had, and a fixed model is `{"backend": .., "genotype": ..}` (both formats refuse
/// unknown fields, so they cannot be confused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Architecture {
    /// A NASRec genotype (searched).
    Nasrec(Genotype),
    /// A backend's fixed model (not searched).
    Fixed(FixedModel),
}

impl From<Genotype> for Architecture {
    fn from(genotype: Genotype) -> Self {
        Architecture::Nasrec(genotype)
    }
}

impl Architecture {
    /// 64-bit hash: the NASRec architecture hash, or FNV-1a over the backend name and the
    /// canonical genotype text of a fixed model (stable across machines and runs).
    pub fn hash(&self) -> u64 {
        match self {
            Architecture::Nasrec(genotype) => genotype.arch_hash(),
            Architecture::Fixed(model) => {
                let text = format!("fixed|{}|{}", model.backend, model.genotype_json());
                text.bytes().fold(FNV_OFFSET, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
                })
            }
        }
    }

    /// [`Architecture::hash`] as 16 lower-case hex digits (the `genotype_hash` column).
    pub fn hash_hex(&self) -> String {
        format!("{:016x}", self.hash())
    }

    /// The NASRec genotype, if this is one.
    pub fn as_nasrec(&self) -> Option<&Genotype> {
        match self {
            Architecture::Nasrec(genotype) => Some(genotype),
            Architecture::Fixed(_) => None,
        }
    }
}

/// How a run chooses the model part of its genomes.
#[derive(Debug, Clone, PartialEq)]
pub enum ArchitectureSearch {
    /// NASRec genotypes drawn by this sampler and changed by the NASRec mutations.
    Nasrec(PathSampler),
    /// One backend model for every genome; only bits and hardware are searched.
    Fixed(FixedModel),
}

impl ArchitectureSearch {
    /// Checks the choice against the space: a NASRec sampler must draw from the space's
    /// architecture space (a fixed model ignores it).
    pub fn check(&self, space: &CodesignSpace) -> Result<()> {
        match self {
            ArchitectureSearch::Nasrec(sampler) if sampler.space != space.arch_space => {
                Err(SearchError::Codesign {
                    what: "architecture sampler".to_string(),
                    reason: format!(
                        "samples {:?} genotypes but the space {} searches {:?}",
                        sampler.space, space.origin, space.arch_space
                    ),
                })
            }
            _ => Ok(()),
        }
    }

    /// Whether `arch` is a model this run could have produced (used to refuse a checkpoint of
    /// another run: NASRec genomes in a fixed-model run, or another fixed model).
    pub fn admits(&self, arch: &Architecture) -> bool {
        match (self, arch) {
            (ArchitectureSearch::Nasrec(_), Architecture::Nasrec(_)) => true,
            (ArchitectureSearch::Fixed(model), Architecture::Fixed(found)) => model == found,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recpim_model::genotype::SearchSpace;
    use recpim_model::net::full_path_genotype;

    fn fixed(text: &str) -> Architecture {
        Architecture::Fixed(FixedModel::from_json_str("dlrm", text, "genotype").unwrap())
    }

    #[test]
    fn fixed_hash_ignores_key_order_and_whitespace() {
        let a = fixed(r#"{"top_mlp": [1], "bottom_mlp": [4, 2]}"#);
        let b = fixed(r#"{ "bottom_mlp":[4,2],"top_mlp":[1] }"#);
        assert_eq!(a.hash(), b.hash());
        assert_ne!(
            a.hash(),
            fixed(r#"{"bottom_mlp": [4, 3], "top_mlp": [1]}"#).hash()
        );
    }

    #[test]
    fn both_kinds_round_trip_through_json() {
        let nasrec: Architecture = full_path_genotype(SearchSpace::Small, 2, 16, 16).into();
        assert_eq!(
            nasrec.hash(),
            nasrec.as_nasrec().unwrap().arch_hash(),
            "NASRec designs keep their hashes"
        );
        for arch in [nasrec, fixed(r#"{"bottom_mlp": [4]}"#)] {
            let text = serde_json::to_string(&arch).unwrap();
            let back: Architecture = serde_json::from_str(&text).unwrap();
            assert_eq!(back, arch, "{text}");
        }
    }

    #[test]
    fn bad_genotype_text_names_the_backend() {
        let err = FixedModel::from_json_str("trace", "{oops", "genotype g.json").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("trace") && text.contains("g.json"), "{text}");
    }
}
