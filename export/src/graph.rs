//! Building an ONNX graph: nodes with fresh output names, weights as
//! initializers (f32; f16 stored and cast back to f32 for `--fp16`; int8
//! matrices with per-channel scales and a DequantizeLinear for `--int8`),
//! typed inputs/outputs with a symbolic batch, and the model with its
//! metadata.

use crate::proto::Msg;

// onnx.proto TensorProto.DataType
pub const FLOAT: i64 = 1;
pub const INT8: i64 = 3;
pub const INT64: i64 = 7;
pub const FLOAT16: i64 = 10;

/// How learned weights are stored in the file; the graph computes in f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weights {
    F32,
    /// Every weight as float16, cast back to float32.
    F16,
    /// The matrices of MatMul, Conv and ConvTranspose as int8 with one
    /// float32 scale per output channel (symmetric, zero point 0), restored
    /// by DequantizeLinear: the QDQ form ONNX Runtime and tract both run.
    /// Biases, norms and embeddings stay float32 (a few percent of the size).
    Int8,
}

impl Weights {
    pub fn as_str(self) -> &'static str {
        match self {
            Weights::F32 => "f32",
            Weights::F16 => "f16",
            Weights::Int8 => "int8",
        }
    }
}

/// Symmetric per-channel int8 quantisation of a tensor of shape `dims`
/// along `axis`: `w ~ q * scale[c]` with `q` in [-127, 127] and `scale[c] =
/// max |w| over channel c / 127` (1 for an all-zero channel).
pub fn quantize_per_channel(dims: &[usize], values: &[f32], axis: usize) -> (Vec<i8>, Vec<f32>) {
    let channels = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let channel = |i: usize| (i / inner) % channels;
    let mut max = vec![0f32; channels];
    for (i, v) in values.iter().enumerate() {
        let c = channel(i);
        max[c] = max[c].max(v.abs());
    }
    let scale: Vec<f32> = max
        .iter()
        .map(|m| if *m > 0.0 { m / 127.0 } else { 1.0 })
        .collect();
    let q = values
        .iter()
        .enumerate()
        .map(|(i, v)| (v / scale[channel(i)]).round().clamp(-127.0, 127.0) as i8)
        .collect();
    (q, scale)
}

pub enum Attr {
    Int(&'static str, i64),
    Float(&'static str, f32),
    Ints(&'static str, Vec<i64>),
    Str(&'static str, String),
}

/// A dimension of a graph input or output.
#[derive(Clone, Debug)]
pub enum Dim {
    Fixed(usize),
    Sym(&'static str),
}

pub struct Graph {
    nodes: Vec<Msg>,
    inits: Vec<Msg>,
    inputs: Vec<Msg>,
    outputs: Vec<Msg>,
    counter: usize,
    /// How weights are stored (the graph computes in float32).
    pub weights: Weights,
    pub opset: i64,
    pub parameters: usize,
    /// The batch axis of the input and outputs: symbolic, or fixed.
    pub batch: Dim,
    output_dims: Vec<(String, Vec<Dim>)>,
}

impl Graph {
    pub fn new(weights: Weights, opset: i64) -> Self {
        Self {
            opset,
            nodes: Vec::new(),
            inits: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            counter: 0,
            weights,
            parameters: 0,
            batch: Dim::Sym("batch"),
            output_dims: Vec::new(),
        }
    }

    pub fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}_{}", self.counter)
    }

    /// Adds `op` and returns the name of its (single) output.
    pub fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<Attr>) -> String {
        let out = self.fresh(&op.to_ascii_lowercase());
        self.node_to(op, inputs, &[&out], attrs);
        out
    }

    /// Adds `op` with named outputs.
    pub fn node_to(&mut self, op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<Attr>) {
        let mut n = Msg::default();
        for i in inputs {
            n.str(1, i);
        }
        for o in outputs {
            n.str(2, o);
        }
        let name = self.fresh(&format!("n_{}", op.to_ascii_lowercase()));
        n.str(3, &name).str(4, op);
        for a in attrs {
            let mut m = Msg::default();
            match a {
                Attr::Int(k, v) => {
                    m.str(1, k).int(3, v).int(20, 2);
                }
                Attr::Float(k, v) => {
                    m.str(1, k).float(2, v).int(20, 1);
                }
                Attr::Ints(k, v) => {
                    m.str(1, k);
                    for x in v {
                        m.int(8, x);
                    }
                    m.int(20, 7);
                }
                Attr::Str(k, v) => {
                    m.str(1, k).bytes(4, v.as_bytes()).int(20, 3);
                }
            }
            n.msg(5, &m);
        }
        self.nodes.push(n);
    }

    fn tensor(name: &str, dims: &[usize], dtype: i64, raw: &[u8]) -> Msg {
        let mut t = Msg::default();
        for d in dims {
            t.int(1, *d as i64);
        }
        t.int(2, dtype).str(8, name).bytes(9, raw);
        t
    }

    /// A float32 weight; with `F16` stored as float16 and cast back (int8
    /// applies to [`Graph::matrix`] only).
    pub fn weight(&mut self, prefix: &str, dims: &[usize], values: &[f32]) -> String {
        self.parameters += values.len();
        let name = self.fresh(prefix);
        if self.weights == Weights::F16 {
            let raw: Vec<u8> = values
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect();
            let stored = format!("{name}_f16");
            self.inits.push(Self::tensor(&stored, dims, FLOAT16, &raw));
            self.node_to("Cast", &[&stored], &[&name], vec![Attr::Int("to", FLOAT)]);
        } else {
            let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            self.inits.push(Self::tensor(&name, dims, FLOAT, &raw));
        }
        name
    }

    /// The weight matrix of a MatMul, Conv or ConvTranspose, whose output
    /// channels lie along `axis`: with `Int8`, int8 values and per-channel
    /// scales restored by DequantizeLinear; otherwise as [`Graph::weight`].
    pub fn matrix(&mut self, prefix: &str, dims: &[usize], values: &[f32], axis: usize) -> String {
        if self.weights != Weights::Int8 {
            return self.weight(prefix, dims, values);
        }
        self.parameters += values.len();
        let name = self.fresh(prefix);
        let (q, scale) = quantize_per_channel(dims, values, axis);
        let raw: Vec<u8> = q.iter().map(|v| *v as u8).collect();
        let stored = format!("{name}_i8");
        self.inits.push(Self::tensor(&stored, dims, INT8, &raw));
        let s = self.constant(&format!("{name}_scale"), &[scale.len()], &scale);
        let zero = format!("{name}_zero");
        self.inits.push(Self::tensor(
            &zero,
            &[scale.len()],
            INT8,
            &vec![0u8; scale.len()],
        ));
        self.node_to(
            "DequantizeLinear",
            &[&stored, &s, &zero],
            &[&name],
            vec![Attr::Int("axis", axis as i64)],
        );
        name
    }

    /// A float32 constant that is not a learned weight (always full precision).
    pub fn constant(&mut self, prefix: &str, dims: &[usize], values: &[f32]) -> String {
        let name = self.fresh(prefix);
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.inits.push(Self::tensor(&name, dims, FLOAT, &raw));
        name
    }

    pub fn scalar(&mut self, prefix: &str, v: f32) -> String {
        self.constant(prefix, &[], &[v])
    }

    pub fn ints(&mut self, prefix: &str, values: &[i64]) -> String {
        let name = self.fresh(prefix);
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.inits
            .push(Self::tensor(&name, &[values.len()], INT64, &raw));
        name
    }

    /// A 0-d int64 constant (a Gather index that drops its axis).
    pub fn int_scalar(&mut self, prefix: &str, v: i64) -> String {
        let name = self.fresh(prefix);
        self.inits
            .push(Self::tensor(&name, &[], INT64, &v.to_le_bytes()));
        name
    }

    fn value_info(name: &str, dims: &[Dim]) -> Msg {
        let mut shape = Msg::default();
        for d in dims {
            let mut dm = Msg::default();
            match d {
                Dim::Fixed(v) => dm.int(1, *v as i64),
                Dim::Sym(s) => dm.str(2, s),
            };
            shape.msg(1, &dm);
        }
        let mut tt = Msg::default();
        tt.int(1, FLOAT).msg(2, &shape);
        let mut ty = Msg::default();
        ty.msg(1, &tt);
        let mut vi = Msg::default();
        vi.str(1, name).msg(2, &ty);
        vi
    }

    pub fn input(&mut self, name: &str, dims: &[Dim]) {
        self.inputs.push(Self::value_info(name, dims));
    }

    /// Declares `value` as the graph output `name` (through an Identity).
    pub fn output(&mut self, value: &str, name: &str, dims: &[Dim]) {
        self.node_to("Identity", &[value], &[name], vec![]);
        self.outputs.push(Self::value_info(name, dims));
        self.output_dims.push((name.to_string(), dims.to_vec()));
    }

    /// The declared shape of output `name`, -1 for a symbolic axis.
    pub fn output_shape(&self, name: &str) -> Vec<i64> {
        self.output_dims
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, dims)| {
                dims.iter()
                    .map(|d| match d {
                        Dim::Fixed(v) => *v as i64,
                        Dim::Sym(_) => -1,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The serialised `ModelProto`.
    pub fn finish(self, graph_name: &str, metadata: &[(String, String)]) -> Vec<u8> {
        let opset = self.opset;
        let mut g = Msg::default();
        for n in &self.nodes {
            g.msg(1, n);
        }
        g.str(2, graph_name);
        for t in &self.inits {
            g.msg(5, t);
        }
        for i in &self.inputs {
            g.msg(11, i);
        }
        for o in &self.outputs {
            g.msg(12, o);
        }
        let mut opset_id = Msg::default();
        opset_id.str(1, "").int(2, opset);
        let mut m = Msg::default();
        // IR version 8 goes with opsets 17-18; 9 with 19-20; 10 with 21.
        let ir = match opset {
            ..=18 => 8,
            19..=20 => 9,
            _ => 10,
        };
        m.int(1, ir)
            .str(2, "smae-export")
            .str(3, env!("CARGO_PKG_VERSION"))
            .msg(7, &g)
            .msg(8, &opset_id);
        for (k, v) in metadata {
            let mut e = Msg::default();
            e.str(1, k).str(2, v);
            m.msg(14, &e);
        }
        m.0
    }
}

#[cfg(test)]
mod tests {
    use super::quantize_per_channel;

    #[test]
    fn per_channel_int8_by_hand() {
        // A MatMul weight [in 2, out 3]: channels along axis 1.
        let w = [0.5, -2.0, 0.0, -1.0, 1.0, 0.0];
        let (q, s) = quantize_per_channel(&[2, 3], &w, 1);
        assert_eq!(s, vec![1.0 / 127.0, 2.0 / 127.0, 1.0]);
        // 0.5 / (1/127) = 63.5 rounds away from zero; -2 -> -127; 1 / (2/127) = 63.5 -> 64
        assert_eq!(q, vec![64, -127, 0, -127, 64, 0]);
        // A conv weight [out 2, in 1, 1, 2]: channels along axis 0.
        let w = [0.1, 0.2, -4.0, 3.0];
        let (q, s) = quantize_per_channel(&[2, 1, 1, 2], &w, 0);
        assert_eq!(s, vec![0.2 / 127.0, 4.0 / 127.0]);
        assert_eq!(q, vec![64, 127, -127, 95]);
    }

    #[test]
    fn dequantised_within_half_a_step() {
        let dims = [4, 5, 3, 3];
        let w: Vec<f32> = (0..180)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        for axis in [0, 1] {
            let (q, s) = quantize_per_channel(&dims, &w, axis);
            let inner: usize = dims[axis + 1..].iter().product();
            for (i, (v, q)) in w.iter().zip(&q).enumerate() {
                let scale = s[(i / inner) % dims[axis]];
                assert!((v - *q as f32 * scale).abs() <= scale / 2.0 + 1e-6);
            }
        }
    }
}
