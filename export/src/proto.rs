//! A minimal protobuf writer for the ONNX messages we emit. burn-onnx's
//! exporter cannot lower a ViT (no Transpose, LayerNorm, GELU, Softmax), and
//! the generated `onnx-protobuf` crate conflicts with burn's protobuf
//! version; the wire format itself is small.

#[derive(Default, Clone, Debug)]
pub struct Msg(pub Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(((field as u64) << 3) | wire as u64);
    }

    /// An int64 / int32 / enum field (negatives take 10 bytes, as protobuf says).
    pub fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }

    pub fn float(&mut self, field: u32, v: f32) -> &mut Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    pub fn str(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }

    pub fn msg(&mut self, field: u32, m: &Msg) -> &mut Self {
        self.bytes(field, &m.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format() {
        let mut m = Msg::default();
        m.int(1, 150);
        assert_eq!(m.0, vec![0x08, 0x96, 0x01]);
        let mut m = Msg::default();
        m.str(2, "testing");
        assert_eq!(
            m.0,
            vec![0x12, 0x07, b't', b'e', b's', b't', b'i', b'n', b'g']
        );
        let mut m = Msg::default();
        m.int(3, -1);
        assert_eq!(m.0.len(), 11);
    }
}
