//! Macros shared by the GPU layer files.

/// `ToDevice`, `ToCpu` and `GpuParams` for a layer of a `weight` and an optional `bias`:
/// `weight_bias_on_gpu!([generics] Cpu<args> => Gpu)`, the CPU layer taking `f32` as its
/// last argument and the GPU layer the same arguments without it.
macro_rules! weight_bias_on_gpu {
    ([$($gen:tt)*] $cpu:ident<$($arg:ident),*> => $gpu:ident) => {
        impl<$($gen)*> $crate::gpu::tensor::ToDevice for $cpu<$($arg,)* f32> {
            type Output = $gpu<$($arg),*>;
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

        impl<$($gen)*> $crate::gpu::tensor::ToCpu for $gpu<$($arg),*> {
            type Output = $cpu<$($arg,)* f32>;
            fn to_cpu(&self) -> $crate::error::Result<Self::Output> {
                Ok($cpu {
                    weight: $crate::gpu::tensor::ToCpu::to_cpu(&self.weight)?,
                    bias: self.bias.as_ref().map($crate::gpu::tensor::ToCpu::to_cpu).transpose()?,
                })
            }
        }

        impl<$($gen)*> $crate::gpu::nn::GpuParams for $gpu<$($arg),*> {
            fn visit_gpu(
                &mut self,
                prefix: &str,
                f: &mut dyn FnMut($crate::gpu::nn::GpuParamMut<'_>),
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
