//! Parameter ids derived from parameter paths (FNV-1a), so ids are the same
//! in every process, replica, rank and resumed run: optimizer state and the
//! gradient all-reduce are keyed by them.

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::prelude::*;

/// Gives every float parameter of `module` the id of its path.
pub fn stable_ids<B: Backend, M: Module<B>>(module: M) -> M {
    struct StableIds(Vec<String>);
    impl<B: Backend> ModuleMapper<B> for StableIds {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            let (_, tensor, mapper) = param.consume();
            Param::from_mapped_value(ParamId::from(fnv1a(&self.0.join("."))), tensor, mapper)
        }
    }
    module.map(&mut StableIds(Vec::new()))
}

/// FNV-1a, 64 bits.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published FNV-1a 64 test vectors.
    #[test]
    fn fnv1a_vectors() {
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a("foobar"), 0x8594_4171_f739_67e8);
    }
}
