// Generated from ONNX "fixtures/detect-obb.onnx" by burn-onnx
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
    layernormalization5: LayerNorm<B>,
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
        let layernormalization5 = LayerNormConfig::new(16)
            .with_epsilon(0.0000009999999974752427f64)
            .with_bias(true)
            .init(device);
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
            layernormalization5,
            phantom: core::marker::PhantomData,
            device: device.clone(),
        }
    }
    #[allow(clippy::let_and_return, clippy::approx_constant)]
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
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
        let add5_out1 = add4_out1.add(linear6_out1);
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
        let layernormalization5_out1 = {
            let dtype = add7_out1.dtype();
            self.layernormalization5
                .forward(add7_out1.cast(burn::tensor::DType::F32))
                .cast(dtype)
        };
        let slice2_out1 = layernormalization5_out1.slice(s![.., 1.., ..]);
        let transpose8_out1 = slice2_out1.permute([0, 2, 1]);
        let reshape6_out1 = transpose8_out1.reshape([0, 16, 4, 4]);
        reshape6_out1
    }
}
#[derive(Module, Debug)]
pub struct Submodule2<B: Backend> {
    convtranspose2d1: ConvTranspose2d<B>,
    maxpool2d1: MaxPool2d,
    conv2d2: Conv2d<B>,
    instancenormalization1: InstanceNorm<B>,
    conv2d3: Conv2d<B>,
    instancenormalization2: InstanceNorm<B>,
    conv2d4: Conv2d<B>,
    instancenormalization3: InstanceNorm<B>,
    conv2d5: Conv2d<B>,
    instancenormalization4: InstanceNorm<B>,
    conv2d6: Conv2d<B>,
    instancenormalization5: InstanceNorm<B>,
    conv2d7: Conv2d<B>,
    instancenormalization6: InstanceNorm<B>,
    conv2d8: Conv2d<B>,
    conv2d9: Conv2d<B>,
    constant101: burn::module::Param<Tensor<B, 1>>,
    constant102: burn::module::Param<Tensor<B, 1>>,
    conv2d10: Conv2d<B>,
    conv2d11: Conv2d<B>,
    conv2d12: Conv2d<B>,
    instancenormalization7: InstanceNorm<B>,
    conv2d13: Conv2d<B>,
    instancenormalization8: InstanceNorm<B>,
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
        let maxpool2d1 = MaxPool2dConfig::new([2, 2])
            .with_strides([2, 2])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_ceil_mode(false)
            .init();
        let conv2d2 = Conv2dConfig::new([16, 8], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization1 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d3 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization2 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d4 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization3 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d5 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization4 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d6 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization5 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d7 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization6 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d8 = Conv2dConfig::new([8, 2], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let conv2d9 = Conv2dConfig::new([8, 4], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let constant101: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([8f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let constant102: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([4f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let conv2d10 = Conv2dConfig::new([8, 1], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let conv2d11 = Conv2dConfig::new([8, 1], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let conv2d12 = Conv2dConfig::new([16, 8], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization7 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d13 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization8 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        Self {
            convtranspose2d1,
            maxpool2d1,
            conv2d2,
            instancenormalization1,
            conv2d3,
            instancenormalization2,
            conv2d4,
            instancenormalization3,
            conv2d5,
            instancenormalization4,
            conv2d6,
            instancenormalization5,
            conv2d7,
            instancenormalization6,
            conv2d8,
            conv2d9,
            constant101,
            constant102,
            conv2d10,
            conv2d11,
            conv2d12,
            instancenormalization7,
            conv2d13,
            instancenormalization8,
            phantom: core::marker::PhantomData,
            device: device.clone(),
        }
    }
    #[allow(clippy::let_and_return, clippy::approx_constant)]
    pub fn forward(
        &self,
        reshape6_out1: Tensor<B, 4>,
    ) -> (
        Tensor<B, 4>,
        Tensor<B, 4>,
        Tensor<B, 3>,
        Tensor<B, 3>,
        Tensor<B, 3>,
        Tensor<B, 3>,
    ) {
        let convtranspose2d1_out1 = self.convtranspose2d1.forward(reshape6_out1.clone());
        let maxpool2d1_out1 = self.maxpool2d1.forward(reshape6_out1.clone());
        let conv2d2_out1 = self.conv2d2.forward(convtranspose2d1_out1);
        let shape2_out1: [i64; 4] = {
            let axes = &conv2d2_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape7_out1 = conv2d2_out1.reshape([0, 8, -1]);
        let instancenormalization1_out1 = self
            .instancenormalization1
            .forward(reshape7_out1);
        let reshape8_out1 = instancenormalization1_out1.reshape(shape2_out1);
        let relu1_out1 = burn::tensor::activation::relu(reshape8_out1);
        let conv2d3_out1 = self.conv2d3.forward(relu1_out1);
        let shape3_out1: [i64; 4] = {
            let axes = &conv2d3_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape9_out1 = conv2d3_out1.reshape([0, 8, -1]);
        let instancenormalization2_out1 = self
            .instancenormalization2
            .forward(reshape9_out1);
        let reshape10_out1 = instancenormalization2_out1.reshape(shape3_out1);
        let relu2_out1 = burn::tensor::activation::relu(reshape10_out1);
        let conv2d4_out1 = self.conv2d4.forward(relu2_out1.clone());
        let shape4_out1: [i64; 4] = {
            let axes = &conv2d4_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape11_out1 = conv2d4_out1.reshape([0, 8, -1]);
        let instancenormalization3_out1 = self
            .instancenormalization3
            .forward(reshape11_out1);
        let reshape12_out1 = instancenormalization3_out1.reshape(shape4_out1);
        let relu3_out1 = burn::tensor::activation::relu(reshape12_out1);
        let conv2d5_out1 = self.conv2d5.forward(relu3_out1);
        let shape5_out1: [i64; 4] = {
            let axes = &conv2d5_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape13_out1 = conv2d5_out1.reshape([0, 8, -1]);
        let instancenormalization4_out1 = self
            .instancenormalization4
            .forward(reshape13_out1);
        let reshape14_out1 = instancenormalization4_out1.reshape(shape5_out1);
        let relu4_out1 = burn::tensor::activation::relu(reshape14_out1);
        let conv2d6_out1 = self.conv2d6.forward(relu2_out1);
        let shape6_out1: [i64; 4] = {
            let axes = &conv2d6_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape15_out1 = conv2d6_out1.reshape([0, 8, -1]);
        let instancenormalization5_out1 = self
            .instancenormalization5
            .forward(reshape15_out1);
        let reshape16_out1 = instancenormalization5_out1.reshape(shape6_out1);
        let relu5_out1 = burn::tensor::activation::relu(reshape16_out1);
        let conv2d7_out1 = self.conv2d7.forward(relu5_out1);
        let shape7_out1: [i64; 4] = {
            let axes = &conv2d7_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape17_out1 = conv2d7_out1.reshape([0, 8, -1]);
        let instancenormalization6_out1 = self
            .instancenormalization6
            .forward(reshape17_out1);
        let reshape18_out1 = instancenormalization6_out1.reshape(shape7_out1);
        let relu6_out1 = burn::tensor::activation::relu(reshape18_out1);
        let conv2d8_out1 = self.conv2d8.forward(relu4_out1);
        let reshape19_out1 = conv2d8_out1.reshape([0, 0, -1]);
        let transpose9_out1 = reshape19_out1.permute([0, 2, 1]);
        let conv2d9_out1 = self.conv2d9.forward(relu6_out1.clone());
        let constant101_out1 = self.constant101.val();
        let min1_out1 = conv2d9_out1
            .min_pair((constant101_out1).unsqueeze_dims(&[0isize, 1isize, 2isize]));
        let exp1_out1 = min1_out1.exp();
        let constant102_out1 = self.constant102.val();
        let mul14_out1 = exp1_out1
            .mul((constant102_out1).unsqueeze_dims(&[0isize, 1isize, 2isize]));
        let reshape20_out1 = mul14_out1.reshape([0, 0, -1]);
        let transpose10_out1 = reshape20_out1.permute([0, 2, 1]);
        let conv2d10_out1 = self.conv2d10.forward(relu6_out1.clone());
        let reshape21_out1 = conv2d10_out1.reshape([0, 0, -1]);
        let transpose11_out1 = reshape21_out1.permute([0, 2, 1]);
        let conv2d11_out1 = self.conv2d11.forward(relu6_out1);
        let reshape22_out1 = conv2d11_out1.reshape([0, 0, -1]);
        let transpose12_out1 = reshape22_out1.permute([0, 2, 1]);
        let conv2d12_out1 = self.conv2d12.forward(reshape6_out1);
        let shape8_out1: [i64; 4] = {
            let axes = &conv2d12_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape23_out1 = conv2d12_out1.reshape([0, 8, -1]);
        let instancenormalization7_out1 = self
            .instancenormalization7
            .forward(reshape23_out1);
        let reshape24_out1 = instancenormalization7_out1.reshape(shape8_out1);
        let relu7_out1 = burn::tensor::activation::relu(reshape24_out1);
        let conv2d13_out1 = self.conv2d13.forward(relu7_out1);
        let shape9_out1: [i64; 4] = {
            let axes = &conv2d13_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape25_out1 = conv2d13_out1.reshape([0, 8, -1]);
        let instancenormalization8_out1 = self
            .instancenormalization8
            .forward(reshape25_out1);
        let reshape26_out1 = instancenormalization8_out1.reshape(shape9_out1);
        (
            reshape26_out1,
            maxpool2d1_out1,
            transpose9_out1,
            transpose10_out1,
            transpose11_out1,
            transpose12_out1,
        )
    }
}
#[derive(Module, Debug)]
pub struct Submodule3<B: Backend> {
    conv2d14: Conv2d<B>,
    instancenormalization9: InstanceNorm<B>,
    conv2d15: Conv2d<B>,
    instancenormalization10: InstanceNorm<B>,
    conv2d16: Conv2d<B>,
    instancenormalization11: InstanceNorm<B>,
    conv2d17: Conv2d<B>,
    instancenormalization12: InstanceNorm<B>,
    conv2d18: Conv2d<B>,
    conv2d19: Conv2d<B>,
    constant152: burn::module::Param<Tensor<B, 1>>,
    constant153: burn::module::Param<Tensor<B, 1>>,
    conv2d20: Conv2d<B>,
    conv2d21: Conv2d<B>,
    conv2d22: Conv2d<B>,
    instancenormalization13: InstanceNorm<B>,
    conv2d23: Conv2d<B>,
    instancenormalization14: InstanceNorm<B>,
    conv2d24: Conv2d<B>,
    instancenormalization15: InstanceNorm<B>,
    conv2d25: Conv2d<B>,
    instancenormalization16: InstanceNorm<B>,
    conv2d26: Conv2d<B>,
    instancenormalization17: InstanceNorm<B>,
    conv2d27: Conv2d<B>,
    instancenormalization18: InstanceNorm<B>,
    conv2d28: Conv2d<B>,
    conv2d29: Conv2d<B>,
    constant203: burn::module::Param<Tensor<B, 1>>,
    constant204: burn::module::Param<Tensor<B, 1>>,
    conv2d30: Conv2d<B>,
    conv2d31: Conv2d<B>,
    constant226: burn::module::Param<Tensor<B, 1>>,
    constant212: burn::module::Param<Tensor<B, 3>>,
    constant213: burn::module::Param<Tensor<B, 3>>,
    phantom: core::marker::PhantomData<B>,
    #[module(skip)]
    device: B::Device,
}
impl<B: Backend> Submodule3<B> {
    #[allow(unused_variables)]
    pub fn new(device: &B::Device) -> Self {
        let conv2d14 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization9 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d15 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization10 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d16 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization11 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d17 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization12 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d18 = Conv2dConfig::new([8, 2], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let conv2d19 = Conv2dConfig::new([8, 4], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let constant152: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([8f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let constant153: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([8f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let conv2d20 = Conv2dConfig::new([8, 1], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let conv2d21 = Conv2dConfig::new([8, 1], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let conv2d22 = Conv2dConfig::new([16, 8], [1, 1])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Valid)
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization13 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d23 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization14 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d24 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization15 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d25 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization16 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d26 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization17 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d27 = Conv2dConfig::new([8, 8], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(false)
            .init(device);
        let instancenormalization18 = InstanceNormConfig::new(8)
            .with_epsilon(0.000009999999747378752f64)
            .init(device);
        let conv2d28 = Conv2dConfig::new([8, 2], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let conv2d29 = Conv2dConfig::new([8, 4], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let constant203: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([8f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let constant204: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                1,
            >::from_data(
                burn::tensor::TensorData::from([16f64]),
                (device, burn::tensor::DType::F32),
            ),
            device.clone(),
            false,
            [1].into(),
        );
        let conv2d30 = Conv2dConfig::new([8, 1], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let conv2d31 = Conv2dConfig::new([8, 1], [3, 3])
            .with_stride([1, 1])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_dilation([1, 1])
            .with_groups(1)
            .with_bias(true)
            .init(device);
        let constant226: burn::module::Param<Tensor<B, 1>> = burn::module::Param::uninitialized(
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
        let constant212: burn::module::Param<Tensor<B, 3>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                3,
            >::zeros([1, 84, 1], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [1, 84, 1].into(),
        );
        let constant213: burn::module::Param<Tensor<B, 3>> = burn::module::Param::uninitialized(
            burn::module::ParamId::new(),
            move |device, _require_grad| Tensor::<
                B,
                3,
            >::zeros([1, 84, 1], (device, burn::tensor::DType::F32)),
            device.clone(),
            false,
            [1, 84, 1].into(),
        );
        Self {
            conv2d14,
            instancenormalization9,
            conv2d15,
            instancenormalization10,
            conv2d16,
            instancenormalization11,
            conv2d17,
            instancenormalization12,
            conv2d18,
            conv2d19,
            constant152,
            constant153,
            conv2d20,
            conv2d21,
            conv2d22,
            instancenormalization13,
            conv2d23,
            instancenormalization14,
            conv2d24,
            instancenormalization15,
            conv2d25,
            instancenormalization16,
            conv2d26,
            instancenormalization17,
            conv2d27,
            instancenormalization18,
            conv2d28,
            conv2d29,
            constant203,
            constant204,
            conv2d30,
            conv2d31,
            constant226,
            constant212,
            constant213,
            phantom: core::marker::PhantomData,
            device: device.clone(),
        }
    }
    #[allow(clippy::let_and_return, clippy::approx_constant)]
    pub fn forward(
        &self,
        reshape26_out1: Tensor<B, 4>,
        maxpool2d1_out1: Tensor<B, 4>,
        transpose9_out1: Tensor<B, 3>,
        transpose10_out1: Tensor<B, 3>,
        transpose11_out1: Tensor<B, 3>,
        transpose12_out1: Tensor<B, 3>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let relu8_out1 = burn::tensor::activation::relu(reshape26_out1);
        let conv2d14_out1 = self.conv2d14.forward(relu8_out1.clone());
        let shape10_out1: [i64; 4] = {
            let axes = &conv2d14_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape27_out1 = conv2d14_out1.reshape([0, 8, -1]);
        let instancenormalization9_out1 = self
            .instancenormalization9
            .forward(reshape27_out1);
        let reshape28_out1 = instancenormalization9_out1.reshape(shape10_out1);
        let relu9_out1 = burn::tensor::activation::relu(reshape28_out1);
        let conv2d15_out1 = self.conv2d15.forward(relu9_out1);
        let shape11_out1: [i64; 4] = {
            let axes = &conv2d15_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape29_out1 = conv2d15_out1.reshape([0, 8, -1]);
        let instancenormalization10_out1 = self
            .instancenormalization10
            .forward(reshape29_out1);
        let reshape30_out1 = instancenormalization10_out1.reshape(shape11_out1);
        let relu10_out1 = burn::tensor::activation::relu(reshape30_out1);
        let conv2d16_out1 = self.conv2d16.forward(relu8_out1);
        let shape12_out1: [i64; 4] = {
            let axes = &conv2d16_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape31_out1 = conv2d16_out1.reshape([0, 8, -1]);
        let instancenormalization11_out1 = self
            .instancenormalization11
            .forward(reshape31_out1);
        let reshape32_out1 = instancenormalization11_out1.reshape(shape12_out1);
        let relu11_out1 = burn::tensor::activation::relu(reshape32_out1);
        let conv2d17_out1 = self.conv2d17.forward(relu11_out1);
        let shape13_out1: [i64; 4] = {
            let axes = &conv2d17_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape33_out1 = conv2d17_out1.reshape([0, 8, -1]);
        let instancenormalization12_out1 = self
            .instancenormalization12
            .forward(reshape33_out1);
        let reshape34_out1 = instancenormalization12_out1.reshape(shape13_out1);
        let relu12_out1 = burn::tensor::activation::relu(reshape34_out1);
        let conv2d18_out1 = self.conv2d18.forward(relu10_out1);
        let reshape35_out1 = conv2d18_out1.reshape([0, 0, -1]);
        let transpose13_out1 = reshape35_out1.permute([0, 2, 1]);
        let conv2d19_out1 = self.conv2d19.forward(relu12_out1.clone());
        let constant152_out1 = self.constant152.val();
        let min2_out1 = conv2d19_out1
            .min_pair((constant152_out1).unsqueeze_dims(&[0isize, 1isize, 2isize]));
        let exp2_out1 = min2_out1.exp();
        let constant153_out1 = self.constant153.val();
        let mul22_out1 = exp2_out1
            .mul((constant153_out1).unsqueeze_dims(&[0isize, 1isize, 2isize]));
        let reshape36_out1 = mul22_out1.reshape([0, 0, -1]);
        let transpose14_out1 = reshape36_out1.permute([0, 2, 1]);
        let conv2d20_out1 = self.conv2d20.forward(relu12_out1.clone());
        let reshape37_out1 = conv2d20_out1.reshape([0, 0, -1]);
        let transpose15_out1 = reshape37_out1.permute([0, 2, 1]);
        let conv2d21_out1 = self.conv2d21.forward(relu12_out1);
        let reshape38_out1 = conv2d21_out1.reshape([0, 0, -1]);
        let transpose16_out1 = reshape38_out1.permute([0, 2, 1]);
        let conv2d22_out1 = self.conv2d22.forward(maxpool2d1_out1);
        let shape14_out1: [i64; 4] = {
            let axes = &conv2d22_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape39_out1 = conv2d22_out1.reshape([0, 8, -1]);
        let instancenormalization13_out1 = self
            .instancenormalization13
            .forward(reshape39_out1);
        let reshape40_out1 = instancenormalization13_out1.reshape(shape14_out1);
        let relu13_out1 = burn::tensor::activation::relu(reshape40_out1);
        let conv2d23_out1 = self.conv2d23.forward(relu13_out1);
        let shape15_out1: [i64; 4] = {
            let axes = &conv2d23_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape41_out1 = conv2d23_out1.reshape([0, 8, -1]);
        let instancenormalization14_out1 = self
            .instancenormalization14
            .forward(reshape41_out1);
        let reshape42_out1 = instancenormalization14_out1.reshape(shape15_out1);
        let relu14_out1 = burn::tensor::activation::relu(reshape42_out1);
        let conv2d24_out1 = self.conv2d24.forward(relu14_out1.clone());
        let shape16_out1: [i64; 4] = {
            let axes = &conv2d24_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape43_out1 = conv2d24_out1.reshape([0, 8, -1]);
        let instancenormalization15_out1 = self
            .instancenormalization15
            .forward(reshape43_out1);
        let reshape44_out1 = instancenormalization15_out1.reshape(shape16_out1);
        let relu15_out1 = burn::tensor::activation::relu(reshape44_out1);
        let conv2d25_out1 = self.conv2d25.forward(relu15_out1);
        let shape17_out1: [i64; 4] = {
            let axes = &conv2d25_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape45_out1 = conv2d25_out1.reshape([0, 8, -1]);
        let instancenormalization16_out1 = self
            .instancenormalization16
            .forward(reshape45_out1);
        let reshape46_out1 = instancenormalization16_out1.reshape(shape17_out1);
        let relu16_out1 = burn::tensor::activation::relu(reshape46_out1);
        let conv2d26_out1 = self.conv2d26.forward(relu14_out1);
        let shape18_out1: [i64; 4] = {
            let axes = &conv2d26_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape47_out1 = conv2d26_out1.reshape([0, 8, -1]);
        let instancenormalization17_out1 = self
            .instancenormalization17
            .forward(reshape47_out1);
        let reshape48_out1 = instancenormalization17_out1.reshape(shape18_out1);
        let relu17_out1 = burn::tensor::activation::relu(reshape48_out1);
        let conv2d27_out1 = self.conv2d27.forward(relu17_out1);
        let shape19_out1: [i64; 4] = {
            let axes = &conv2d27_out1.clone().dims()[0..4];
            let mut output = [0i64; 4];
            for i in 0..4 {
                output[i] = axes[i] as i64;
            }
            output
        };
        let reshape49_out1 = conv2d27_out1.reshape([0, 8, -1]);
        let instancenormalization18_out1 = self
            .instancenormalization18
            .forward(reshape49_out1);
        let reshape50_out1 = instancenormalization18_out1.reshape(shape19_out1);
        let relu18_out1 = burn::tensor::activation::relu(reshape50_out1);
        let conv2d28_out1 = self.conv2d28.forward(relu16_out1);
        let reshape51_out1 = conv2d28_out1.reshape([0, 0, -1]);
        let transpose17_out1 = reshape51_out1.permute([0, 2, 1]);
        let conv2d29_out1 = self.conv2d29.forward(relu18_out1.clone());
        let constant203_out1 = self.constant203.val();
        let min3_out1 = conv2d29_out1
            .min_pair((constant203_out1).unsqueeze_dims(&[0isize, 1isize, 2isize]));
        let exp3_out1 = min3_out1.exp();
        let constant204_out1 = self.constant204.val();
        let mul30_out1 = exp3_out1
            .mul((constant204_out1).unsqueeze_dims(&[0isize, 1isize, 2isize]));
        let reshape52_out1 = mul30_out1.reshape([0, 0, -1]);
        let transpose18_out1 = reshape52_out1.permute([0, 2, 1]);
        let conv2d30_out1 = self.conv2d30.forward(relu18_out1.clone());
        let reshape53_out1 = conv2d30_out1.reshape([0, 0, -1]);
        let transpose19_out1 = reshape53_out1.permute([0, 2, 1]);
        let conv2d31_out1 = self.conv2d31.forward(relu18_out1);
        let reshape54_out1 = conv2d31_out1.reshape([0, 0, -1]);
        let transpose20_out1 = reshape54_out1.permute([0, 2, 1]);
        let concat3_out1 = burn::tensor::Tensor::cat(
            [transpose9_out1, transpose13_out1, transpose17_out1].into(),
            1,
        );
        let concat4_out1 = burn::tensor::Tensor::cat(
            [transpose10_out1, transpose14_out1, transpose18_out1].into(),
            1,
        );
        let concat5_out1 = burn::tensor::Tensor::cat(
            [transpose11_out1, transpose15_out1, transpose19_out1].into(),
            1,
        );
        let sigmoid1_out1 = burn::tensor::activation::sigmoid(concat3_out1);
        let sigmoid2_out1 = burn::tensor::activation::sigmoid(concat5_out1);
        let mul31_out1 = sigmoid1_out1.mul(sigmoid2_out1);
        let sqrt1_out1 = mul31_out1.sqrt();
        let slice3_out1 = concat4_out1.clone().slice(s![.., .., 0..1]);
        let slice4_out1 = concat4_out1.clone().slice(s![.., .., 1..2]);
        let slice5_out1 = concat4_out1.clone().slice(s![.., .., 2..3]);
        let slice6_out1 = concat4_out1.slice(s![.., .., 3..4]);
        let concat6_out1 = burn::tensor::Tensor::cat(
            [transpose12_out1, transpose16_out1, transpose20_out1].into(),
            1,
        );
        let sin1_out1 = concat6_out1.clone().sin();
        let cos1_out1 = concat6_out1.clone().cos();
        let sub1_out1 = slice5_out1.clone().sub(slice3_out1.clone());
        let constant226_out1 = self.constant226.val();
        let mul32_out1 = sub1_out1
            .mul((constant226_out1.clone()).unsqueeze_dims(&[0isize, 1isize]));
        let sub2_out1 = slice6_out1.clone().sub(slice4_out1.clone());
        let mul33_out1 = sub2_out1
            .mul((constant226_out1).unsqueeze_dims(&[0isize, 1isize]));
        let mul34_out1 = mul32_out1.clone().mul(cos1_out1.clone());
        let mul35_out1 = mul33_out1.clone().mul(sin1_out1.clone());
        let constant212_out1 = self.constant212.val();
        let add26_out1 = constant212_out1.add(mul34_out1);
        let sub3_out1 = add26_out1.sub(mul35_out1);
        let mul36_out1 = mul32_out1.mul(sin1_out1);
        let mul37_out1 = mul33_out1.mul(cos1_out1);
        let constant213_out1 = self.constant213.val();
        let add27_out1 = constant213_out1.add(mul36_out1);
        let add28_out1 = add27_out1.add(mul37_out1);
        let add29_out1 = slice3_out1.add(slice5_out1);
        let add30_out1 = slice4_out1.add(slice6_out1);
        let concat7_out1 = burn::tensor::Tensor::cat(
            [sub3_out1, add28_out1, add29_out1, add30_out1, concat6_out1].into(),
            2,
        );
        (concat7_out1, sqrt1_out1)
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
struct Aligned256([u8; 120656usize]);
static ALIGNED_DATA: Aligned256 = Aligned256(
    *include_bytes!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/model/detect-obb.bpk")
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
    pub fn forward(&self, images: Tensor<B, 4>) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let reshape6_out1 = self.submodule1.forward(images);
        let (
            reshape26_out1,
            maxpool2d1_out1,
            transpose9_out1,
            transpose10_out1,
            transpose11_out1,
            transpose12_out1,
        ) = self.submodule2.forward(reshape6_out1);
        let (concat7_out1, sqrt1_out1) = self
            .submodule3
            .forward(
                reshape26_out1,
                maxpool2d1_out1,
                transpose9_out1,
                transpose10_out1,
                transpose11_out1,
                transpose12_out1,
            );
        (concat7_out1, sqrt1_out1)
    }
}
