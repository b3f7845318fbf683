// Generated from ONNX "fixtures/classify.onnx" by burn-onnx
use burn::prelude::*;
use burn::nn::LayerNorm;
use burn::nn::LayerNormConfig;
use burn::nn::Linear;
use burn::nn::LinearConfig;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::Bytes;
use burn_store::BurnpackStore;
use burn_store::ModuleSnapshot;


#[derive(Module, Debug)]
pub struct Model<B: Backend> {
    constant4: burn::module::Param<Tensor<B, 3>>,
    constant5: burn::module::Param<Tensor<B, 3>>,
    constant25: burn::module::Param<Tensor<B, 1>>,
    constant26: burn::module::Param<Tensor<B, 1>>,
    constant27: burn::module::Param<Tensor<B, 1>>,
    constant46: burn::module::Param<Tensor<B, 1>>,
    constant47: burn::module::Param<Tensor<B, 1>>,
    constant48: burn::module::Param<Tensor<B, 1>>,
    conv2d1: Conv2d<B>,
    layernormalization1: LayerNorm<B>,
    linear1: Linear<B>,
    linear2: Linear<B>,
    layernormalization2: LayerNorm<B>,
    linear3: Linear<B>,
    linear4: Linear<B>,
    layernormalization3: LayerNorm<B>,
    linear5: Linear<B>,
    linear6: Linear<B>,
    layernormalization4: LayerNorm<B>,
    linear7: Linear<B>,
    linear8: Linear<B>,
    layernormalization5: LayerNorm<B>,
    layernormalization6: LayerNorm<B>,
    linear9: Linear<B>,
    phantom: core::marker::PhantomData<B>,
    #[module(skip)]
    device: B::Device,
}


#[repr(C, align(256))]
struct Aligned256([u8; 48396usize]);
static ALIGNED_DATA: Aligned256 = Aligned256(
    *include_bytes!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/model/classify.bpk")
    ),
);
static EMBEDDED_STATES: &[u8] = &ALIGNED_DATA.0;

impl<B: Backend> Default for Model<B> {
    fn default() -> Self {
        Self::from_embedded(&Default::default())
    }
}

impl<B: Backend> Model<B> {
    /// Load model weights from embedded burnpack data (zero-copy at store level).
    ///
    /// The embedded data stays in the binary's .rodata section without heap allocation.
    /// Tensor data is sliced directly from the static bytes.
    ///
    /// Note: Some backends may still copy data internally.
    /// See <https://github.com/tracel-ai/burn/issues/4153> for true backend zero-copy.
    ///
    /// See <https://github.com/tracel-ai/burn/issues/4123>
    pub fn from_embedded(device: &B::Device) -> Self {
        let mut model = Self::new(device);
        let mut store = BurnpackStore::from_static(EMBEDDED_STATES);
        model.load_from(&mut store).expect("Failed to load embedded burnpack");
        model
    }

    /// Load model weights from in-memory bytes.
    ///
    /// The bytes must be the contents of a `.bpk` file.
    pub fn from_bytes(bytes: Bytes, device: &B::Device) -> Self {
        let mut model = Self::new(device);
        let mut store = BurnpackStore::from_bytes(Some(bytes));
        model.load_from(&mut store).expect("Failed to load burnpack bytes");
        model
    }
}

impl<B: Backend> Model<B> {
    #[allow(unused_variables)]
    pub fn new(device: &B::Device) -> Self {
        let constant4: burn::module::Param<Tensor<B, 3>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                3,
            >::zeros([1, 16, 16], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [1, 16, 16].into(),
        );
        let constant5: burn::module::Param<Tensor<B, 3>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                3,
            >::zeros([1, 1, 16], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [1, 1, 16].into(),
        );
        let constant25: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([1.4142135381698608f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let constant26: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([1f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let constant27: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([0.5f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let constant46: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([1.4142135381698608f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let constant47: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([1f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let constant48: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([0.5f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let conv2d1 = Conv2dConfig::new([3, 16], [8, 8])
            .with_stride([8, 8])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let layernormalization1 = LayerNormConfig::new(16)
            .with_epsilon(0.0000009999999974752427f64)
            .with_bias(true)
            .init(device);
        let linear1 = LinearConfig::new(16, 48).with_bias(true).init(device);
        let linear2 = LinearConfig::new(16, 16).with_bias(true).init(device);
        let layernormalization2 = LayerNormConfig::new(16)
            .with_epsilon(0.0000009999999974752427f64)
            .with_bias(true)
            .init(device);
        let linear3 = LinearConfig::new(16, 64).with_bias(true).init(device);
        let linear4 = LinearConfig::new(64, 16).with_bias(true).init(device);
        let layernormalization3 = LayerNormConfig::new(16)
            .with_epsilon(0.0000009999999974752427f64)
            .with_bias(true)
            .init(device);
        let linear5 = LinearConfig::new(16, 48).with_bias(true).init(device);
        let linear6 = LinearConfig::new(16, 16).with_bias(true).init(device);
        let layernormalization4 = LayerNormConfig::new(16)
            .with_epsilon(0.0000009999999974752427f64)
            .with_bias(true)
            .init(device);
        let linear7 = LinearConfig::new(16, 64).with_bias(true).init(device);
        let linear8 = LinearConfig::new(64, 16).with_bias(true).init(device);
        let layernormalization5 = LayerNormConfig::new(16)
            .with_epsilon(0.0000009999999974752427f64)
            .with_bias(true)
            .init(device);
        let layernormalization6 = LayerNormConfig::new(16)
            .with_epsilon(0.0000009999999974752427f64)
            .with_bias(true)
            .init(device);
        let linear9 = LinearConfig::new(16, 3).with_bias(true).init(device);
        Self {
            constant4,
            constant5,
            constant25,
            constant26,
            constant27,
            constant46,
            constant47,
            constant48,
            conv2d1,
            layernormalization1,
            linear1,
            linear2,
            layernormalization2,
            linear3,
            linear4,
            layernormalization3,
            linear5,
            linear6,
            layernormalization4,
            linear7,
            linear8,
            layernormalization5,
            layernormalization6,
            linear9,
            phantom: core::marker::PhantomData,
            device: device.clone(),
        }
    }

    #[allow(clippy::let_and_return, clippy::approx_constant)]
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let constant4_out1 = self.constant4.val();
        let constant5_out1 = self.constant5.val();
        let constant8_out1: [i64; 2] = [1i64, 16i64];
        let constant25_out1 = self.constant25.val();
        let constant26_out1 = self.constant26.val();
        let constant27_out1 = self.constant27.val();
        let constant46_out1 = self.constant46.val();
        let constant47_out1 = self.constant47.val();
        let constant48_out1 = self.constant48.val();
        let conv2d1_out1 = self.conv2d1.forward(images.clone());
        let reshape1_out1 = conv2d1_out1.reshape([0, 16, -1]);
        let transpose1_out1 = reshape1_out1.permute([0, 2, 1]);
        let add1_out1 = transpose1_out1.add(constant4_out1);
        let shape1_out1: [i64; 4] = {
            let axes = &images.dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let slice1_out1: [i64; 1] = shape1_out1[0..1].try_into().unwrap();
        let concat1_out1: [i64; 3usize] = [&slice1_out1[..], &constant8_out1[..]]
            .concat()
            .try_into()
            .unwrap();
        let expand1_out1 = {
            let onnx_shape: [i64; 3usize] = concat1_out1;
            let input_dims = constant5_out1.dims();
            let mut shape = onnx_shape;
            #[allow(clippy::needless_range_loop)]
            for i in 0..3usize {
                let dim_offset = 3usize - 3usize + i;
                if shape[dim_offset] == 1 && input_dims[i] > 1 {
                    shape[dim_offset] = input_dims[i] as i64;
                }
            }
            constant5_out1.expand(shape)
        };
        let concat2_out1 = burn::tensor::Tensor::cat(
            [expand1_out1, add1_out1].into(),
            1,
        );
        let layernormalization1_out1 = {
            let dtype = concat2_out1.clone().dtype();
            self.layernormalization1
                .forward(concat2_out1.clone().cast(burn::tensor::DType::F32))
                .cast(dtype)
        };
        let linear1_out1 = self.linear1.forward(layernormalization1_out1);
        let reshape2_out1 = linear1_out1.reshape([0, 0, 3, 2, 8]);
        let transpose2_out1 = reshape2_out1.permute([2, 0, 3, 1, 4]);
        let gather1_out1 = {
            let sliced = transpose2_out1.clone().slice(s![0, .., .., .., ..]);
            sliced.squeeze_dim::<4usize>(0)
        };
        let gather2_out1 = {
            let sliced = transpose2_out1.clone().slice(s![1, .., .., .., ..]);
            sliced.squeeze_dim::<4usize>(0)
        };
        let gather3_out1 = {
            let sliced = transpose2_out1.slice(s![2, .., .., .., ..]);
            sliced.squeeze_dim::<4usize>(0)
        };
        let (matmul3_out1,) = {
            let q = gather1_out1;
            let k = gather2_out1;
            let v = gather3_out1;
            let matmul3_out1 = burn::tensor::module::attention(
                q,
                k,
                v,
                None,
                None,
                burn::tensor::ops::AttentionModuleOptions {
                    scale: Some(0.3535533845424652f64),
                    softcap: None,
                    is_causal: false,
                },
            );
            (matmul3_out1,)
        };
        let transpose4_out1 = matmul3_out1.permute([0, 2, 1, 3]);
        let reshape3_out1 = transpose4_out1.reshape([0, 0, 16]);
        let linear2_out1 = self.linear2.forward(reshape3_out1);
        let add2_out1 = concat2_out1.add(linear2_out1);
        let layernormalization2_out1 = {
            let dtype = add2_out1.clone().dtype();
            self.layernormalization2
                .forward(add2_out1.clone().cast(burn::tensor::DType::F32))
                .cast(dtype)
        };
        let linear3_out1 = self.linear3.forward(layernormalization2_out1);
        let div1_out1 = linear3_out1
            .clone()
            .div((constant25_out1).unsqueeze_dims(&[0isize, 1isize]));
        let erf1_out1 = div1_out1.erf();
        let add3_out1 = erf1_out1
            .add((constant26_out1).unsqueeze_dims(&[0isize, 1isize]));
        let mul2_out1 = linear3_out1.mul(add3_out1);
        let mul3_out1 = mul2_out1
            .mul((constant27_out1).unsqueeze_dims(&[0isize, 1isize]));
        let linear4_out1 = self.linear4.forward(mul3_out1);
        let add4_out1 = add2_out1.add(linear4_out1);
        let layernormalization3_out1 = {
            let dtype = add4_out1.clone().dtype();
            self.layernormalization3
                .forward(add4_out1.clone().cast(burn::tensor::DType::F32))
                .cast(dtype)
        };
        let linear5_out1 = self.linear5.forward(layernormalization3_out1);
        let reshape4_out1 = linear5_out1.reshape([0, 0, 3, 2, 8]);
        let transpose5_out1 = reshape4_out1.permute([2, 0, 3, 1, 4]);
        let gather4_out1 = {
            let sliced = transpose5_out1.clone().slice(s![0, .., .., .., ..]);
            sliced.squeeze_dim::<4usize>(0)
        };
        let gather5_out1 = {
            let sliced = transpose5_out1.clone().slice(s![1, .., .., .., ..]);
            sliced.squeeze_dim::<4usize>(0)
        };
        let gather6_out1 = {
            let sliced = transpose5_out1.slice(s![2, .., .., .., ..]);
            sliced.squeeze_dim::<4usize>(0)
        };
        let (matmul9_out1,) = {
            let q = gather4_out1;
            let k = gather5_out1;
            let v = gather6_out1;
            let matmul9_out1 = burn::tensor::module::attention(
                q,
                k,
                v,
                None,
                None,
                burn::tensor::ops::AttentionModuleOptions {
                    scale: Some(0.3535533845424652f64),
                    softcap: None,
                    is_causal: false,
                },
            );
            (matmul9_out1,)
        };
        let transpose7_out1 = matmul9_out1.permute([0, 2, 1, 3]);
        let reshape5_out1 = transpose7_out1.reshape([0, 0, 16]);
        let linear6_out1 = self.linear6.forward(reshape5_out1);
        let add5_out1 = add4_out1.add(linear6_out1);
        let layernormalization4_out1 = {
            let dtype = add5_out1.clone().dtype();
            self.layernormalization4
                .forward(add5_out1.clone().cast(burn::tensor::DType::F32))
                .cast(dtype)
        };
        let linear7_out1 = self.linear7.forward(layernormalization4_out1);
        let div2_out1 = linear7_out1
            .clone()
            .div((constant46_out1).unsqueeze_dims(&[0isize, 1isize]));
        let erf2_out1 = div2_out1.erf();
        let add6_out1 = erf2_out1
            .add((constant47_out1).unsqueeze_dims(&[0isize, 1isize]));
        let mul5_out1 = linear7_out1.mul(add6_out1);
        let mul6_out1 = mul5_out1
            .mul((constant48_out1).unsqueeze_dims(&[0isize, 1isize]));
        let linear8_out1 = self.linear8.forward(mul6_out1);
        let add7_out1 = add5_out1.add(linear8_out1);
        let layernormalization5_out1 = {
            let dtype = add7_out1.dtype();
            self.layernormalization5
                .forward(add7_out1.cast(burn::tensor::DType::F32))
                .cast(dtype)
        };
        let slice2_out1 = layernormalization5_out1.slice(s![.., 1.., ..]);
        let reducemean1_out1 = {
            slice2_out1.mean_dim(1usize).squeeze_dims::<2usize>(&[1])
        };
        let layernormalization6_out1 = {
            let dtype = reducemean1_out1.dtype();
            self.layernormalization6
                .forward(reducemean1_out1.cast(burn::tensor::DType::F32))
                .cast(dtype)
        };
        let linear9_out1 = self.linear9.forward(layernormalization6_out1);
        let softmax3_out1 = burn::tensor::activation::softmax(linear9_out1, 1);
        softmax3_out1
    }
}
