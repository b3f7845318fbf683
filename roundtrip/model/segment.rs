// Generated from ONNX "fixtures/segment.onnx" by burn-onnx
use burn::prelude::*;
use burn::nn::InstanceNorm;
use burn::nn::InstanceNormConfig;
use burn::nn::LayerNorm;
use burn::nn::LayerNormConfig;
use burn::nn::Linear;
use burn::nn::LinearConfig;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::conv::Conv2dConfig;
use burn::nn::conv::ConvTranspose2d;
use burn::nn::conv::ConvTranspose2dConfig;
use burn::nn::pool::MaxPool2d;
use burn::nn::pool::MaxPool2dConfig;
use burn::tensor::Bytes;
use burn_store::BurnpackStore;
use burn_store::ModuleSnapshot;


#[derive(Module, Debug)]
pub struct Submodule1<B: Backend> {
    conv2d1: Conv2d<B>,
    constant4: burn::module::Param<Tensor<B, 3>>,
    constant5: burn::module::Param<Tensor<B, 3>>,
    layernormalization1: LayerNorm<B>,
    linear1: Linear<B>,
    linear2: Linear<B>,
    layernormalization2: LayerNorm<B>,
    linear3: Linear<B>,
    constant25: burn::module::Param<Tensor<B, 1>>,
    constant26: burn::module::Param<Tensor<B, 1>>,
    constant27: burn::module::Param<Tensor<B, 1>>,
    linear4: Linear<B>,
    layernormalization3: LayerNorm<B>,
    linear5: Linear<B>,
    linear6: Linear<B>,
    layernormalization4: LayerNorm<B>,
    linear7: Linear<B>,
    constant46: burn::module::Param<Tensor<B, 1>>,
    constant47: burn::module::Param<Tensor<B, 1>>,
    constant48: burn::module::Param<Tensor<B, 1>>,
    linear8: Linear<B>,
    phantom: core::marker::PhantomData<B>,
    #[module(skip)]
    device: B::Device,
}
impl<B: Backend> Submodule1<B> {
    #[allow(unused_variables)]
    pub fn new(device: &B::Device) -> Self {
        let conv2d1 = Conv2dConfig::new([3, 16], [8, 8])
            .with_stride([8, 8])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
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
        let linear8 = LinearConfig::new(64, 16).with_bias(true).init(device);
        Self {
            conv2d1,
            constant4,
            constant5,
            layernormalization1,
            linear1,
            linear2,
            layernormalization2,
            linear3,
            constant25,
            constant26,
            constant27,
            linear4,
            layernormalization3,
            linear5,
            linear6,
            layernormalization4,
            linear7,
            constant46,
            constant47,
            constant48,
            linear8,
            phantom: core::marker::PhantomData,
            device: device.clone(),
        }
    }
    #[allow(clippy::let_and_return, clippy::approx_constant)]
    pub fn forward(
        &self,
        images: Tensor<B, 4>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>, Tensor<B, 3>, Tensor<B, 4>) {
        let conv2d1_out1 = self.conv2d1.forward(images.clone());
        let reshape1_out1 = conv2d1_out1.reshape([0, 16, -1]);
        let transpose1_out1 = reshape1_out1.permute([0, 2, 1]);
        let constant4_out1 = self.constant4.val();
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
        let constant8_out1: [i64; 2] = [1i64, 16i64];
        let concat1_out1: [i64; 3usize] = [&slice1_out1[..], &constant8_out1[..]]
            .concat()
            .try_into()
            .unwrap();
        let constant5_out1 = self.constant5.val();
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
        let constant25_out1 = self.constant25.val();
        let div1_out1 = linear3_out1
            .clone()
            .div((constant25_out1).unsqueeze_dims(&[0isize, 1isize]));
        let erf1_out1 = div1_out1.erf();
        let constant26_out1 = self.constant26.val();
        let add3_out1 = erf1_out1
            .add((constant26_out1).unsqueeze_dims(&[0isize, 1isize]));
        let mul2_out1 = linear3_out1.mul(add3_out1);
        let constant27_out1 = self.constant27.val();
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
        let add5_out1 = add4_out1.clone().add(linear6_out1);
        let layernormalization4_out1 = {
            let dtype = add5_out1.clone().dtype();
            self.layernormalization4
                .forward(add5_out1.clone().cast(burn::tensor::DType::F32))
                .cast(dtype)
        };
        let linear7_out1 = self.linear7.forward(layernormalization4_out1);
        let constant46_out1 = self.constant46.val();
        let div2_out1 = linear7_out1
            .clone()
            .div((constant46_out1).unsqueeze_dims(&[0isize, 1isize]));
        let erf2_out1 = div2_out1.erf();
        let constant47_out1 = self.constant47.val();
        let add6_out1 = erf2_out1
            .add((constant47_out1).unsqueeze_dims(&[0isize, 1isize]));
        let mul5_out1 = linear7_out1.mul(add6_out1);
        let constant48_out1 = self.constant48.val();
        let mul6_out1 = mul5_out1
            .mul((constant48_out1).unsqueeze_dims(&[0isize, 1isize]));
        let linear8_out1 = self.linear8.forward(mul6_out1);
        let add7_out1 = add5_out1.add(linear8_out1);
        let slice2_out1 = add4_out1.clone().slice(s![.., 1.., ..]);
        let transpose8_out1 = slice2_out1.permute([0, 2, 1]);
        let reshape6_out1 = transpose8_out1.reshape([0, 16, 4, 4]);
        let slice3_out1 = add4_out1.clone().slice(s![.., 1.., ..]);
        (slice3_out1, add4_out1, add7_out1, reshape6_out1)
    }
}
#[derive(Module, Debug)]
pub struct Submodule2<B: Backend> {
    convtranspose2d1: ConvTranspose2d<B>,
    instancenormalization1: InstanceNorm<B>,
    constant74: burn::module::Param<Tensor<B, 1>>,
    constant75: burn::module::Param<Tensor<B, 1>>,
    constant76: burn::module::Param<Tensor<B, 1>>,
    convtranspose2d2: ConvTranspose2d<B>,
    convtranspose2d3: ConvTranspose2d<B>,
    maxpool2d1: MaxPool2d,
    linear9: Linear<B>,
    conv2d2: Conv2d<B>,
    instancenormalization2: InstanceNorm<B>,
    constant90: burn::module::Param<Tensor<B, 2>>,
    linear10: Linear<B>,
    linear11: Linear<B>,
    conv2d3: Conv2d<B>,
    instancenormalization3: InstanceNorm<B>,
    linear12: Linear<B>,
    conv2d4: Conv2d<B>,
    instancenormalization4: InstanceNorm<B>,
    constant110: burn::module::Param<Tensor<B, 2>>,
    linear13: Linear<B>,
    linear14: Linear<B>,
    conv2d5: Conv2d<B>,
    instancenormalization5: InstanceNorm<B>,
    constant121: burn::module::Param<Tensor<B, 2>>,
    linear15: Linear<B>,
    phantom: core::marker::PhantomData<B>,
    #[module(skip)]
    device: B::Device,
}
impl<B: Backend> Submodule2<B> {
    #[allow(unused_variables)]
    pub fn new(device: &B::Device) -> Self {
        let convtranspose2d1 = ConvTranspose2dConfig::new([16, 16], [2, 2])
            .with_stride([2, 2])
            .with_padding([0, 0])
            .with_padding_out([0, 0])
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let instancenormalization1 = InstanceNormConfig::new(16)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let constant74: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
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
        let constant75: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
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
        let constant76: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
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
        let convtranspose2d2 = ConvTranspose2dConfig::new([16, 16], [2, 2])
            .with_stride([2, 2])
            .with_padding([0, 0])
            .with_padding_out([0, 0])
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let convtranspose2d3 = ConvTranspose2dConfig::new([16, 16], [2, 2])
            .with_stride([2, 2])
            .with_padding([0, 0])
            .with_padding_out([0, 0])
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let maxpool2d1 = MaxPool2dConfig::new([2, 2])
            .with_strides([2, 2])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_ceil_mode(false)
            .init();
        let linear9 = LinearConfig::new(4, 1).with_bias(false).init(device);
        let conv2d2 = Conv2dConfig::new([16, 8], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization2 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let constant90: burn::module::Param<Tensor<B, 2>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                2,
            >::zeros([2, 1], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [2, 1].into(),
        );
        let linear10 = LinearConfig::new(1, 2).with_bias(false).init(device);
        let linear11 = LinearConfig::new(4, 4).with_bias(false).init(device);
        let conv2d3 = Conv2dConfig::new([16, 8], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization3 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let linear12 = LinearConfig::new(4, 9).with_bias(false).init(device);
        let conv2d4 = Conv2dConfig::new([16, 8], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization4 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let constant110: burn::module::Param<Tensor<B, 2>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                2,
            >::zeros([2, 3], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [2, 3].into(),
        );
        let linear13 = LinearConfig::new(3, 2).with_bias(false).init(device);
        let linear14 = LinearConfig::new(4, 36).with_bias(false).init(device);
        let conv2d5 = Conv2dConfig::new([16, 8], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization5 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let constant121: burn::module::Param<Tensor<B, 2>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                2,
            >::zeros([2, 6], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [2, 6].into(),
        );
        let linear15 = LinearConfig::new(6, 2).with_bias(false).init(device);
        Self {
            convtranspose2d1,
            instancenormalization1,
            constant74,
            constant75,
            constant76,
            convtranspose2d2,
            convtranspose2d3,
            maxpool2d1,
            linear9,
            conv2d2,
            instancenormalization2,
            constant90,
            linear10,
            linear11,
            conv2d3,
            instancenormalization3,
            linear12,
            conv2d4,
            instancenormalization4,
            constant110,
            linear13,
            linear14,
            conv2d5,
            instancenormalization5,
            constant121,
            linear15,
            phantom: core::marker::PhantomData,
            device: device.clone(),
        }
    }
    #[allow(clippy::let_and_return, clippy::approx_constant)]
    pub fn forward(
        &self,
        slice3_out1: Tensor<B, 3>,
        add4_out1: Tensor<B, 3>,
        add7_out1: Tensor<B, 3>,
        reshape6_out1: Tensor<B, 4>,
    ) -> (Tensor<B, 4>, Tensor<B, 4>, Tensor<B, 4>, Tensor<B, 4>) {
        let transpose9_out1 = slice3_out1.permute([0, 2, 1]);
        let reshape7_out1 = transpose9_out1.reshape([0, 16, 4, 4]);
        let slice4_out1 = add4_out1.slice(s![.., 1.., ..]);
        let transpose10_out1 = slice4_out1.permute([0, 2, 1]);
        let reshape8_out1 = transpose10_out1.reshape([0, 16, 4, 4]);
        let slice5_out1 = add7_out1.slice(s![.., 1.., ..]);
        let transpose11_out1 = slice5_out1.permute([0, 2, 1]);
        let reshape9_out1 = transpose11_out1.reshape([0, 16, 4, 4]);
        let convtranspose2d1_out1 = self.convtranspose2d1.forward(reshape6_out1);
        let shape2_out1: [i64; 4] = {
            let axes = &convtranspose2d1_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape10_out1 = convtranspose2d1_out1.reshape([0, 16, -1]);
        let instancenormalization1_out1 = self
            .instancenormalization1
            .forward(reshape10_out1);
        let reshape11_out1 = instancenormalization1_out1.reshape(shape2_out1);
        let constant74_out1 = self.constant74.val();
        let div3_out1 = reshape11_out1
            .clone()
            .div((constant74_out1).unsqueeze_dims(&[0isize, 1isize, 2isize]));
        let erf3_out1 = div3_out1.erf();
        let constant75_out1 = self.constant75.val();
        let add9_out1 = erf3_out1
            .add((constant75_out1).unsqueeze_dims(&[0isize, 1isize, 2isize]));
        let mul8_out1 = reshape11_out1.mul(add9_out1);
        let constant76_out1 = self.constant76.val();
        let mul9_out1 = mul8_out1
            .mul((constant76_out1).unsqueeze_dims(&[0isize, 1isize, 2isize]));
        let convtranspose2d2_out1 = self.convtranspose2d2.forward(mul9_out1);
        let convtranspose2d3_out1 = self.convtranspose2d3.forward(reshape7_out1);
        let maxpool2d1_out1 = self.maxpool2d1.forward(reshape9_out1);
        let reshape12_out1 = maxpool2d1_out1.clone().reshape([0, 0, -1]);
        let linear9_out1 = self.linear9.forward(reshape12_out1);
        let reshape13_out1 = linear9_out1.reshape([0, 0, 1, 1]);
        let conv2d2_out1 = self.conv2d2.forward(reshape13_out1);
        let shape3_out1: [i64; 4] = {
            let axes = &conv2d2_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape14_out1 = conv2d2_out1.reshape([0, 8, -1]);
        let instancenormalization2_out1 = self
            .instancenormalization2
            .forward(reshape14_out1);
        let reshape15_out1 = instancenormalization2_out1.reshape(shape3_out1);
        let relu1_out1 = burn::tensor::activation::relu(reshape15_out1);
        let constant90_out1 = self.constant90.val();
        let matmul14_out1 = constant90_out1.unsqueeze::<4usize>().matmul(relu1_out1);
        let linear10_out1 = self.linear10.forward(matmul14_out1);
        let reshape16_out1 = maxpool2d1_out1.clone().reshape([0, 0, -1]);
        let linear11_out1 = self.linear11.forward(reshape16_out1);
        let reshape17_out1 = linear11_out1.reshape([0, 0, 2, 2]);
        let conv2d3_out1 = self.conv2d3.forward(reshape17_out1);
        let shape4_out1: [i64; 4] = {
            let axes = &conv2d3_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape18_out1 = conv2d3_out1.reshape([0, 8, -1]);
        let instancenormalization3_out1 = self
            .instancenormalization3
            .forward(reshape18_out1);
        let reshape19_out1 = instancenormalization3_out1.reshape(shape4_out1);
        let relu2_out1 = burn::tensor::activation::relu(reshape19_out1);
        let reshape20_out1 = maxpool2d1_out1.clone().reshape([0, 0, -1]);
        let linear12_out1 = self.linear12.forward(reshape20_out1);
        let reshape21_out1 = linear12_out1.reshape([0, 0, 3, 3]);
        let conv2d4_out1 = self.conv2d4.forward(reshape21_out1);
        let shape5_out1: [i64; 4] = {
            let axes = &conv2d4_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape22_out1 = conv2d4_out1.reshape([0, 8, -1]);
        let instancenormalization4_out1 = self
            .instancenormalization4
            .forward(reshape22_out1);
        let reshape23_out1 = instancenormalization4_out1.reshape(shape5_out1);
        let relu3_out1 = burn::tensor::activation::relu(reshape23_out1);
        let constant110_out1 = self.constant110.val();
        let matmul18_out1 = constant110_out1.unsqueeze::<4usize>().matmul(relu3_out1);
        let linear13_out1 = self.linear13.forward(matmul18_out1);
        let reshape24_out1 = maxpool2d1_out1.clone().reshape([0, 0, -1]);
        let linear14_out1 = self.linear14.forward(reshape24_out1);
        let reshape25_out1 = linear14_out1.reshape([0, 0, 6, 6]);
        let conv2d5_out1 = self.conv2d5.forward(reshape25_out1);
        let shape6_out1: [i64; 4] = {
            let axes = &conv2d5_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape26_out1 = conv2d5_out1.reshape([0, 8, -1]);
        let instancenormalization5_out1 = self
            .instancenormalization5
            .forward(reshape26_out1);
        let reshape27_out1 = instancenormalization5_out1.reshape(shape6_out1);
        let relu4_out1 = burn::tensor::activation::relu(reshape27_out1);
        let constant121_out1 = self.constant121.val();
        let matmul21_out1 = constant121_out1.unsqueeze::<4usize>().matmul(relu4_out1);
        let linear15_out1 = self.linear15.forward(matmul21_out1);
        let concat3_out1 = burn::tensor::Tensor::cat(
            [maxpool2d1_out1, linear10_out1, relu2_out1, linear13_out1, linear15_out1]
                .into(),
            1,
        );
        (concat3_out1, convtranspose2d2_out1, convtranspose2d3_out1, reshape8_out1)
    }
}
#[derive(Module, Debug)]
pub struct Submodule3<B: Backend> {
    conv2d6: Conv2d<B>,
    instancenormalization6: InstanceNorm<B>,
    conv2d7: Conv2d<B>,
    instancenormalization7: InstanceNorm<B>,
    conv2d8: Conv2d<B>,
    instancenormalization8: InstanceNorm<B>,
    conv2d9: Conv2d<B>,
    instancenormalization9: InstanceNorm<B>,
    constant147: burn::module::Param<Tensor<B, 2>>,
    linear16: Linear<B>,
    constant149: burn::module::Param<Tensor<B, 2>>,
    linear17: Linear<B>,
    constant151: burn::module::Param<Tensor<B, 2>>,
    linear18: Linear<B>,
    conv2d10: Conv2d<B>,
    instancenormalization10: InstanceNorm<B>,
    conv2d11: Conv2d<B>,
    instancenormalization11: InstanceNorm<B>,
    conv2d12: Conv2d<B>,
    instancenormalization12: InstanceNorm<B>,
    constant171: burn::module::Param<Tensor<B, 2>>,
    linear19: Linear<B>,
    constant173: burn::module::Param<Tensor<B, 2>>,
    linear20: Linear<B>,
    constant175: burn::module::Param<Tensor<B, 2>>,
    linear21: Linear<B>,
    conv2d13: Conv2d<B>,
    instancenormalization13: InstanceNorm<B>,
    conv2d14: Conv2d<B>,
    constant185: burn::module::Param<Tensor<B, 2>>,
    linear22: Linear<B>,
    phantom: core::marker::PhantomData<B>,
    #[module(skip)]
    device: B::Device,
}
impl<B: Backend> Submodule3<B> {
    #[allow(unused_variables)]
    pub fn new(device: &B::Device) -> Self {
        let conv2d6 = Conv2dConfig::new([48, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization6 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d7 = Conv2dConfig::new([16, 8], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization7 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d8 = Conv2dConfig::new([16, 8], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization8 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d9 = Conv2dConfig::new([16, 8], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization9 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let constant147: burn::module::Param<Tensor<B, 2>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                2,
            >::zeros([4, 2], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [4, 2].into(),
        );
        let linear16 = LinearConfig::new(2, 4).with_bias(false).init(device);
        let constant149: burn::module::Param<Tensor<B, 2>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                2,
            >::zeros([8, 4], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [8, 4].into(),
        );
        let linear17 = LinearConfig::new(4, 8).with_bias(false).init(device);
        let constant151: burn::module::Param<Tensor<B, 2>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                2,
            >::zeros([16, 8], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [16, 8].into(),
        );
        let linear18 = LinearConfig::new(8, 16).with_bias(false).init(device);
        let conv2d10 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization10 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d11 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization11 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d12 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization12 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let constant171: burn::module::Param<Tensor<B, 2>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                2,
            >::zeros([16, 8], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [16, 8].into(),
        );
        let linear19 = LinearConfig::new(8, 16).with_bias(false).init(device);
        let constant173: burn::module::Param<Tensor<B, 2>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                2,
            >::zeros([16, 4], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [16, 4].into(),
        );
        let linear20 = LinearConfig::new(4, 16).with_bias(false).init(device);
        let constant175: burn::module::Param<Tensor<B, 2>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                2,
            >::zeros([16, 2], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [16, 2].into(),
        );
        let linear21 = LinearConfig::new(2, 16).with_bias(false).init(device);
        let conv2d13 = Conv2dConfig::new([32, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization13 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d14 = Conv2dConfig::new([8, 2], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let constant185: burn::module::Param<Tensor<B, 2>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                2,
            >::zeros([32, 16], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [32, 16].into(),
        );
        let linear22 = LinearConfig::new(16, 32).with_bias(false).init(device);
        Self {
            conv2d6,
            instancenormalization6,
            conv2d7,
            instancenormalization7,
            conv2d8,
            instancenormalization8,
            conv2d9,
            instancenormalization9,
            constant147,
            linear16,
            constant149,
            linear17,
            constant151,
            linear18,
            conv2d10,
            instancenormalization10,
            conv2d11,
            instancenormalization11,
            conv2d12,
            instancenormalization12,
            constant171,
            linear19,
            constant173,
            linear20,
            constant175,
            linear21,
            conv2d13,
            instancenormalization13,
            conv2d14,
            constant185,
            linear22,
            phantom: core::marker::PhantomData,
            device: device.clone(),
        }
    }
    #[allow(clippy::let_and_return, clippy::approx_constant)]
    pub fn forward(
        &self,
        concat3_out1: Tensor<B, 4>,
        convtranspose2d2_out1: Tensor<B, 4>,
        convtranspose2d3_out1: Tensor<B, 4>,
        reshape8_out1: Tensor<B, 4>,
    ) -> Tensor<B, 4> {
        let conv2d6_out1 = self.conv2d6.forward(concat3_out1);
        let shape7_out1: [i64; 4] = {
            let axes = &conv2d6_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape28_out1 = conv2d6_out1.reshape([0, 8, -1]);
        let instancenormalization6_out1 = self
            .instancenormalization6
            .forward(reshape28_out1);
        let reshape29_out1 = instancenormalization6_out1.reshape(shape7_out1);
        let relu5_out1 = burn::tensor::activation::relu(reshape29_out1);
        let conv2d7_out1 = self.conv2d7.forward(convtranspose2d2_out1);
        let shape8_out1: [i64; 4] = {
            let axes = &conv2d7_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape30_out1 = conv2d7_out1.reshape([0, 8, -1]);
        let instancenormalization7_out1 = self
            .instancenormalization7
            .forward(reshape30_out1);
        let reshape31_out1 = instancenormalization7_out1.reshape(shape8_out1);
        let relu6_out1 = burn::tensor::activation::relu(reshape31_out1);
        let conv2d8_out1 = self.conv2d8.forward(convtranspose2d3_out1);
        let shape9_out1: [i64; 4] = {
            let axes = &conv2d8_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape32_out1 = conv2d8_out1.reshape([0, 8, -1]);
        let instancenormalization8_out1 = self
            .instancenormalization8
            .forward(reshape32_out1);
        let reshape33_out1 = instancenormalization8_out1.reshape(shape9_out1);
        let relu7_out1 = burn::tensor::activation::relu(reshape33_out1);
        let conv2d9_out1 = self.conv2d9.forward(reshape8_out1);
        let shape10_out1: [i64; 4] = {
            let axes = &conv2d9_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape34_out1 = conv2d9_out1.reshape([0, 8, -1]);
        let instancenormalization9_out1 = self
            .instancenormalization9
            .forward(reshape34_out1);
        let reshape35_out1 = instancenormalization9_out1.reshape(shape10_out1);
        let relu8_out1 = burn::tensor::activation::relu(reshape35_out1);
        let constant147_out1 = self.constant147.val();
        let matmul23_out1 = constant147_out1
            .unsqueeze::<4usize>()
            .matmul(relu5_out1.clone());
        let linear16_out1 = self.linear16.forward(matmul23_out1);
        let add18_out1 = relu8_out1.add(linear16_out1);
        let constant149_out1 = self.constant149.val();
        let matmul25_out1 = constant149_out1
            .unsqueeze::<4usize>()
            .matmul(add18_out1.clone());
        let linear17_out1 = self.linear17.forward(matmul25_out1);
        let add19_out1 = relu7_out1.add(linear17_out1);
        let constant151_out1 = self.constant151.val();
        let matmul27_out1 = constant151_out1
            .unsqueeze::<4usize>()
            .matmul(add19_out1.clone());
        let linear18_out1 = self.linear18.forward(matmul27_out1);
        let add20_out1 = relu6_out1.add(linear18_out1);
        let conv2d10_out1 = self.conv2d10.forward(add20_out1);
        let shape11_out1: [i64; 4] = {
            let axes = &conv2d10_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape36_out1 = conv2d10_out1.reshape([0, 8, -1]);
        let instancenormalization10_out1 = self
            .instancenormalization10
            .forward(reshape36_out1);
        let reshape37_out1 = instancenormalization10_out1.reshape(shape11_out1);
        let relu9_out1 = burn::tensor::activation::relu(reshape37_out1);
        let conv2d11_out1 = self.conv2d11.forward(add19_out1);
        let shape12_out1: [i64; 4] = {
            let axes = &conv2d11_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape38_out1 = conv2d11_out1.reshape([0, 8, -1]);
        let instancenormalization11_out1 = self
            .instancenormalization11
            .forward(reshape38_out1);
        let reshape39_out1 = instancenormalization11_out1.reshape(shape12_out1);
        let relu10_out1 = burn::tensor::activation::relu(reshape39_out1);
        let conv2d12_out1 = self.conv2d12.forward(add18_out1);
        let shape13_out1: [i64; 4] = {
            let axes = &conv2d12_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape40_out1 = conv2d12_out1.reshape([0, 8, -1]);
        let instancenormalization12_out1 = self
            .instancenormalization12
            .forward(reshape40_out1);
        let reshape41_out1 = instancenormalization12_out1.reshape(shape13_out1);
        let relu11_out1 = burn::tensor::activation::relu(reshape41_out1);
        let constant171_out1 = self.constant171.val();
        let matmul29_out1 = constant171_out1.unsqueeze::<4usize>().matmul(relu10_out1);
        let linear19_out1 = self.linear19.forward(matmul29_out1);
        let constant173_out1 = self.constant173.val();
        let matmul31_out1 = constant173_out1.unsqueeze::<4usize>().matmul(relu11_out1);
        let linear20_out1 = self.linear20.forward(matmul31_out1);
        let constant175_out1 = self.constant175.val();
        let matmul33_out1 = constant175_out1.unsqueeze::<4usize>().matmul(relu5_out1);
        let linear21_out1 = self.linear21.forward(matmul33_out1);
        let concat4_out1 = burn::tensor::Tensor::cat(
            [relu9_out1, linear19_out1, linear20_out1, linear21_out1].into(),
            1,
        );
        let conv2d13_out1 = self.conv2d13.forward(concat4_out1);
        let shape14_out1: [i64; 4] = {
            let axes = &conv2d13_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape42_out1 = conv2d13_out1.reshape([0, 8, -1]);
        let instancenormalization13_out1 = self
            .instancenormalization13
            .forward(reshape42_out1);
        let reshape43_out1 = instancenormalization13_out1.reshape(shape14_out1);
        let relu12_out1 = burn::tensor::activation::relu(reshape43_out1);
        let conv2d14_out1 = self.conv2d14.forward(relu12_out1);
        let constant185_out1 = self.constant185.val();
        let matmul35_out1 = constant185_out1.unsqueeze::<4usize>().matmul(conv2d14_out1);
        let linear22_out1 = self.linear22.forward(matmul35_out1);
        let split_tensors = linear22_out1.clone().split_with_sizes([1, 1].into(), 1);
        let [split1_out1, split1_out2] = split_tensors.try_into().unwrap();
        let max1_out1 = split1_out1.max_pair(split1_out2);
        let sub1_out1 = linear22_out1.sub(max1_out1);
        let exp1_out1 = sub1_out1.exp();
        let reducesum1_out1 = { exp1_out1.clone().sum_dim(1usize) };
        let div4_out1 = exp1_out1.div(reducesum1_out1);
        div4_out1
    }
}

#[derive(Module, Debug)]
pub struct Model<B: Backend> {
    submodule1: Submodule1<B>,
    submodule2: Submodule2<B>,
    submodule3: Submodule3<B>,
    phantom: core::marker::PhantomData<B>,
    #[module(skip)]
    device: B::Device,
}


#[repr(C, align(256))]
struct Aligned256([u8; 119552usize]);
static ALIGNED_DATA: Aligned256 = Aligned256(
    *include_bytes!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/model/segment.bpk")
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
        let submodule1 = Submodule1::new(device);
        let submodule2 = Submodule2::new(device);
        let submodule3 = Submodule3::new(device);
        Self {
            submodule1,
            submodule2,
            submodule3,
            phantom: core::marker::PhantomData,
            device: device.clone(),
        }
    }

    #[allow(clippy::let_and_return, clippy::approx_constant)]
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let (slice3_out1, add4_out1, add7_out1, reshape6_out1) = self
            .submodule1
            .forward(images);
        let (
            concat3_out1,
            convtranspose2d2_out1,
            convtranspose2d3_out1,
            reshape8_out1,
        ) = self.submodule2.forward(slice3_out1, add4_out1, add7_out1, reshape6_out1);
        let div4_out1 = self
            .submodule3
            .forward(
                concat3_out1,
                convtranspose2d2_out1,
                convtranspose2d3_out1,
                reshape8_out1,
            );
        div4_out1
    }
}
