//! Macros shared by the GPU layer files.

/// `ToDevice`, `ToCpu` and `GpuParams` for a layer of a `weight` and an optional `bias`:
/// `weight_bias_on_gpu!([generics] Cpu<args> => Gpu)`, the CPU and the GPU layer both taking
/// the element type `E` (f32 or f64) as their last argument.
macro_rules! weight_bias_on_gpu {
    ([$($gen:tt)*] $cpu:ident<$($arg:ident),*> => $gpu:ident) => {
        impl<$($gen)*, E: $crate::dtype::Float> $crate::gpu::tensor::ToDevice
            for $cpu<$($arg,)* E>
        {
            type Output = $gpu<$($arg,)* E>;
            fn to_device(
                &self,
                gpu: &$crate::device::Wgpu,
            ) -> $crate::error::Result<Self::Output> {
                Ok($gpu {
                    weight: $crate::gpu::tensor::ToDevice::to_device(&self.weight, gpu)?,
                    bias: self
                        .bias
                        .as_ref()
                        .map(|b| $crate::gpu::tensor::ToDevice::to_device(b, gpu))
                        .transpose()?,
                })
            }
        }

        impl<$($gen)*, E: $crate::dtype::Float> $crate::gpu::tensor::ToCpu
            for $gpu<$($arg,)* E>
        {
            type Output = $cpu<$($arg,)* E>;
            fn to_cpu(&self) -> $crate::error::Result<Self::Output> {
                Ok($cpu {
                    weight: $crate::gpu::tensor::ToCpu::to_cpu(&self.weight)?,
                    bias: self.bias.as_ref().map($crate::gpu::tensor::ToCpu::to_cpu).transpose()?,
                })
            }
        }

        impl<$($gen)*, E: $crate::dtype::Float> $crate::gpu::nn::GpuParams<E>
            for $gpu<$($arg,)* E>
        {
            fn visit_gpu(
                &mut self,
                prefix: &str,
                f: &mut dyn FnMut($crate::gpu::nn::GpuParamMut<'_, E>),
            ) {
                f($crate::gpu::nn::GpuParamMut {
                    name: &format!("{prefix}weight"),
                    id: self.weight.id,
                    data: &mut self.weight.data,
                });
                if let Some(b) = &mut self.bias {
                    f($crate::gpu::nn::GpuParamMut {
                        name: &format!("{prefix}bias"),
                        id: b.id,
                        data: &mut b.data,
                    });
                }
            }
        }
    };
}

/// `ToDevice`, `ToCpu` (the layer itself: it holds no tensors) and an empty `GpuParams<E>` for
/// every element type, so that the layer joins GPU models of f32 or f64:
/// `no_params_on_gpu!([generics] Layer<args>)`.
macro_rules! no_params_on_gpu {
    ([$($gen:tt)*] $name:ident $(< $($arg:ident),* >)?) => {
        impl<$($gen)*> $crate::gpu::tensor::ToDevice for $name $(< $($arg),* >)? {
            type Output = Self;
            fn to_device(&self, _: &$crate::device::Wgpu) -> $crate::error::Result<Self> {
                Ok(*self)
            }
        }
        impl<$($gen)*> $crate::gpu::tensor::ToCpu for $name $(< $($arg),* >)? {
            type Output = Self;
            fn to_cpu(&self) -> $crate::error::Result<Self> {
                Ok(*self)
            }
        }
        impl<$($gen)* E: $crate::dtype::Float> $crate::gpu::nn::GpuParams<E>
            for $name $(< $($arg),* >)?
        {
            fn visit_gpu(
                &mut self,
                _: &str,
                _: &mut dyn FnMut($crate::gpu::nn::GpuParamMut<'_, E>),
            ) {
            }
        }
    };
}
