//! Sequential models: a tuple of layers is a model that runs them in order.

use super::layer_name::at_layer;
use super::module::Module;
use crate::error::Result;

// Sequential models: a tuple runs its layers in order. Written out per arity because a
// macro cannot expand inside a where clause.
impl<X, M0> Module<X> for (M0,)
where
    M0: Module<X>,
{
    type Output = <M0 as Module<X>>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self
            .0
            .try_forward_train(x)
            .map_err(|e| at_layer::<M0>(e, 0))?;
        Ok(x)
    }
}

impl<X, M0, M1> Module<X> for (M0, M1)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
{
    type Output = <M1 as Module<<M0 as Module<X>>::Output>>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self
            .0
            .try_forward_train(x)
            .map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self
            .1
            .try_forward_train(x)
            .map_err(|e| at_layer::<M1>(e, 1))?;
        Ok(x)
    }
}

impl<X, M0, M1, M2> Module<X> for (M0, M1, M2)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
    M2: Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>,
{
    type Output = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
        let () = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward(x).map_err(|e| at_layer::<M2>(e, 2))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self
            .0
            .try_forward_train(x)
            .map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self
            .1
            .try_forward_train(x)
            .map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self
            .2
            .try_forward_train(x)
            .map_err(|e| at_layer::<M2>(e, 2))?;
        Ok(x)
    }
}

impl<X, M0, M1, M2, M3> Module<X> for (M0, M1, M2, M3)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
    M2: Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>,
    M3: Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>,
{
    type Output = <M3 as Module<
        <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
    >>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
        let () = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M3 as Module<
            <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
        >>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward(x).map_err(|e| at_layer::<M3>(e, 3))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self
            .0
            .try_forward_train(x)
            .map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self
            .1
            .try_forward_train(x)
            .map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self
            .2
            .try_forward_train(x)
            .map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self
            .3
            .try_forward_train(x)
            .map_err(|e| at_layer::<M3>(e, 3))?;
        Ok(x)
    }
}

impl<X, M0, M1, M2, M3, M4> Module<X> for (M0, M1, M2, M3, M4)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
    M2: Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>,
    M3: Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>,
    M4:
        Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >,
{
    type Output =
        <M4 as Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
        let () = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M3 as Module<
            <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
        >>::SHAPE_CHECK;
        let () = <M4 as Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward(x).map_err(|e| at_layer::<M4>(e, 4))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self
            .0
            .try_forward_train(x)
            .map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self
            .1
            .try_forward_train(x)
            .map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self
            .2
            .try_forward_train(x)
            .map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self
            .3
            .try_forward_train(x)
            .map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self
            .4
            .try_forward_train(x)
            .map_err(|e| at_layer::<M4>(e, 4))?;
        Ok(x)
    }
}

impl<X, M0, M1, M2, M3, M4, M5> Module<X> for (M0, M1, M2, M3, M4, M5)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
    M2: Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>,
    M3: Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>,
    M4:
        Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >,
    M5: Module<
        <M4 as Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >>::Output,
    >,
{
    type Output = <M5 as Module<
        <M4 as Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >>::Output,
    >>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
        let () = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M3 as Module<
            <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
        >>::SHAPE_CHECK;
        let () = <M4 as Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >>::SHAPE_CHECK;
        let () = <M5 as Module<
            <M4 as Module<
                <M3 as Module<
                    <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
                >>::Output,
            >>::Output,
        >>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward(x).map_err(|e| at_layer::<M5>(e, 5))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self
            .0
            .try_forward_train(x)
            .map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self
            .1
            .try_forward_train(x)
            .map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self
            .2
            .try_forward_train(x)
            .map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self
            .3
            .try_forward_train(x)
            .map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self
            .4
            .try_forward_train(x)
            .map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self
            .5
            .try_forward_train(x)
            .map_err(|e| at_layer::<M5>(e, 5))?;
        Ok(x)
    }
}

impl<X, M0, M1, M2, M3, M4, M5, M6> Module<X> for (M0, M1, M2, M3, M4, M5, M6)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
    M2: Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>,
    M3: Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>,
    M4:
        Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >,
    M5: Module<
        <M4 as Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >>::Output,
    >,
    M6: Module<
        <M5 as Module<
            <M4 as Module<
                <M3 as Module<
                    <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
                >>::Output,
            >>::Output,
        >>::Output,
    >,
{
    type Output = <M6 as Module<
        <M5 as Module<
            <M4 as Module<
                <M3 as Module<
                    <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
                >>::Output,
            >>::Output,
        >>::Output,
    >>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
        let () = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M3 as Module<
            <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
        >>::SHAPE_CHECK;
        let () = <M4 as Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >>::SHAPE_CHECK;
        let () = <M5 as Module<
            <M4 as Module<
                <M3 as Module<
                    <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
                >>::Output,
            >>::Output,
        >>::SHAPE_CHECK;
        let () = <M6 as Module<
            <M5 as Module<
                <M4 as Module<
                    <M3 as Module<
                        <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
                    >>::Output,
                >>::Output,
            >>::Output,
        >>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward(x).map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self.6.try_forward(x).map_err(|e| at_layer::<M6>(e, 6))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self
            .0
            .try_forward_train(x)
            .map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self
            .1
            .try_forward_train(x)
            .map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self
            .2
            .try_forward_train(x)
            .map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self
            .3
            .try_forward_train(x)
            .map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self
            .4
            .try_forward_train(x)
            .map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self
            .5
            .try_forward_train(x)
            .map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self
            .6
            .try_forward_train(x)
            .map_err(|e| at_layer::<M6>(e, 6))?;
        Ok(x)
    }
}

impl<X, M0, M1, M2, M3, M4, M5, M6, M7> Module<X> for (M0, M1, M2, M3, M4, M5, M6, M7)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
    M2: Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>,
    M3: Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>,
    M4:
        Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >,
    M5: Module<
        <M4 as Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >>::Output,
    >,
    M6: Module<
        <M5 as Module<
            <M4 as Module<
                <M3 as Module<
                    <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
                >>::Output,
            >>::Output,
        >>::Output,
    >,
    M7: Module<
        <M6 as Module<
            <M5 as Module<
                <M4 as Module<
                    <M3 as Module<
                        <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
                    >>::Output,
                >>::Output,
            >>::Output,
        >>::Output,
    >,
{
    type Output = <M7 as Module<
        <M6 as Module<
            <M5 as Module<
                <M4 as Module<
                    <M3 as Module<
                        <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
                    >>::Output,
                >>::Output,
            >>::Output,
        >>::Output,
    >>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
        let () = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M3 as Module<
            <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
        >>::SHAPE_CHECK;
        let () = <M4 as Module<
            <M3 as Module<
                <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
            >>::Output,
        >>::SHAPE_CHECK;
        let () = <M5 as Module<
            <M4 as Module<
                <M3 as Module<
                    <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
                >>::Output,
            >>::Output,
        >>::SHAPE_CHECK;
        let () = <M6 as Module<
            <M5 as Module<
                <M4 as Module<
                    <M3 as Module<
                        <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,
                    >>::Output,
                >>::Output,
            >>::Output,
        >>::SHAPE_CHECK;
        let () = <M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output,>>::Output,>>::Output,>>::Output,>>::Output>>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward(x).map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self.6.try_forward(x).map_err(|e| at_layer::<M6>(e, 6))?;
        let x = self.7.try_forward(x).map_err(|e| at_layer::<M7>(e, 7))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self
            .0
            .try_forward_train(x)
            .map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self
            .1
            .try_forward_train(x)
            .map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self
            .2
            .try_forward_train(x)
            .map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self
            .3
            .try_forward_train(x)
            .map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self
            .4
            .try_forward_train(x)
            .map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self
            .5
            .try_forward_train(x)
            .map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self
            .6
            .try_forward_train(x)
            .map_err(|e| at_layer::<M6>(e, 6))?;
        let x = self
            .7
            .try_forward_train(x)
            .map_err(|e| at_layer::<M7>(e, 7))?;
        Ok(x)
    }
}

impl<X, M0, M1, M2, M3, M4, M5, M6, M7, M8> Module<X> for (M0, M1, M2, M3, M4, M5, M6, M7, M8,)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
    M2: Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>,
    M3: Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>,
    M4: Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>,
    M5: Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M6: Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M7: Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M8: Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
{
    type Output = <M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
        let () = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward(x).map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self.6.try_forward(x).map_err(|e| at_layer::<M6>(e, 6))?;
        let x = self.7.try_forward(x).map_err(|e| at_layer::<M7>(e, 7))?;
        let x = self.8.try_forward(x).map_err(|e| at_layer::<M8>(e, 8))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward_train(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward_train(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward_train(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward_train(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward_train(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward_train(x).map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self.6.try_forward_train(x).map_err(|e| at_layer::<M6>(e, 6))?;
        let x = self.7.try_forward_train(x).map_err(|e| at_layer::<M7>(e, 7))?;
        let x = self.8.try_forward_train(x).map_err(|e| at_layer::<M8>(e, 8))?;
        Ok(x)
    }
}

impl<X, M0, M1, M2, M3, M4, M5, M6, M7, M8, M9> Module<X> for (M0, M1, M2, M3, M4, M5, M6, M7, M8, M9,)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
    M2: Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>,
    M3: Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>,
    M4: Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>,
    M5: Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M6: Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M7: Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M8: Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M9: Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
{
    type Output = <M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
        let () = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward(x).map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self.6.try_forward(x).map_err(|e| at_layer::<M6>(e, 6))?;
        let x = self.7.try_forward(x).map_err(|e| at_layer::<M7>(e, 7))?;
        let x = self.8.try_forward(x).map_err(|e| at_layer::<M8>(e, 8))?;
        let x = self.9.try_forward(x).map_err(|e| at_layer::<M9>(e, 9))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward_train(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward_train(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward_train(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward_train(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward_train(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward_train(x).map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self.6.try_forward_train(x).map_err(|e| at_layer::<M6>(e, 6))?;
        let x = self.7.try_forward_train(x).map_err(|e| at_layer::<M7>(e, 7))?;
        let x = self.8.try_forward_train(x).map_err(|e| at_layer::<M8>(e, 8))?;
        let x = self.9.try_forward_train(x).map_err(|e| at_layer::<M9>(e, 9))?;
        Ok(x)
    }
}

impl<X, M0, M1, M2, M3, M4, M5, M6, M7, M8, M9, M10> Module<X> for (M0, M1, M2, M3, M4, M5, M6, M7, M8, M9, M10,)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
    M2: Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>,
    M3: Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>,
    M4: Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>,
    M5: Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M6: Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M7: Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M8: Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M9: Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M10: Module<<M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
{
    type Output = <M10 as Module<<M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
        let () = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M10 as Module<<M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward(x).map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self.6.try_forward(x).map_err(|e| at_layer::<M6>(e, 6))?;
        let x = self.7.try_forward(x).map_err(|e| at_layer::<M7>(e, 7))?;
        let x = self.8.try_forward(x).map_err(|e| at_layer::<M8>(e, 8))?;
        let x = self.9.try_forward(x).map_err(|e| at_layer::<M9>(e, 9))?;
        let x = self.10.try_forward(x).map_err(|e| at_layer::<M10>(e, 10))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward_train(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward_train(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward_train(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward_train(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward_train(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward_train(x).map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self.6.try_forward_train(x).map_err(|e| at_layer::<M6>(e, 6))?;
        let x = self.7.try_forward_train(x).map_err(|e| at_layer::<M7>(e, 7))?;
        let x = self.8.try_forward_train(x).map_err(|e| at_layer::<M8>(e, 8))?;
        let x = self.9.try_forward_train(x).map_err(|e| at_layer::<M9>(e, 9))?;
        let x = self.10.try_forward_train(x).map_err(|e| at_layer::<M10>(e, 10))?;
        Ok(x)
    }
}

impl<X, M0, M1, M2, M3, M4, M5, M6, M7, M8, M9, M10, M11> Module<X> for (M0, M1, M2, M3, M4, M5, M6, M7, M8, M9, M10, M11,)
where
    M0: Module<X>,
    M1: Module<<M0 as Module<X>>::Output>,
    M2: Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>,
    M3: Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>,
    M4: Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>,
    M5: Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M6: Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M7: Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M8: Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M9: Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M10: Module<<M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
    M11: Module<<M10 as Module<<M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>,
{
    type Output = <M11 as Module<<M10 as Module<<M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output;
    const SHAPE_CHECK: () = {
        let () = <M0 as Module<X>>::SHAPE_CHECK;
        let () = <M1 as Module<<M0 as Module<X>>::Output>>::SHAPE_CHECK;
        let () = <M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M10 as Module<<M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
        let () = <M11 as Module<<M10 as Module<<M9 as Module<<M8 as Module<<M7 as Module<<M6 as Module<<M5 as Module<<M4 as Module<<M3 as Module<<M2 as Module<<M1 as Module<<M0 as Module<X>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::Output>>::SHAPE_CHECK;
    };
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward(x).map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self.6.try_forward(x).map_err(|e| at_layer::<M6>(e, 6))?;
        let x = self.7.try_forward(x).map_err(|e| at_layer::<M7>(e, 7))?;
        let x = self.8.try_forward(x).map_err(|e| at_layer::<M8>(e, 8))?;
        let x = self.9.try_forward(x).map_err(|e| at_layer::<M9>(e, 9))?;
        let x = self.10.try_forward(x).map_err(|e| at_layer::<M10>(e, 10))?;
        let x = self.11.try_forward(x).map_err(|e| at_layer::<M11>(e, 11))?;
        Ok(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        let x = self.0.try_forward_train(x).map_err(|e| at_layer::<M0>(e, 0))?;
        let x = self.1.try_forward_train(x).map_err(|e| at_layer::<M1>(e, 1))?;
        let x = self.2.try_forward_train(x).map_err(|e| at_layer::<M2>(e, 2))?;
        let x = self.3.try_forward_train(x).map_err(|e| at_layer::<M3>(e, 3))?;
        let x = self.4.try_forward_train(x).map_err(|e| at_layer::<M4>(e, 4))?;
        let x = self.5.try_forward_train(x).map_err(|e| at_layer::<M5>(e, 5))?;
        let x = self.6.try_forward_train(x).map_err(|e| at_layer::<M6>(e, 6))?;
        let x = self.7.try_forward_train(x).map_err(|e| at_layer::<M7>(e, 7))?;
        let x = self.8.try_forward_train(x).map_err(|e| at_layer::<M8>(e, 8))?;
        let x = self.9.try_forward_train(x).map_err(|e| at_layer::<M9>(e, 9))?;
        let x = self.10.try_forward_train(x).map_err(|e| at_layer::<M10>(e, 10))?;
        let x = self.11.try_forward_train(x).map_err(|e| at_layer::<M11>(e, 11))?;
        Ok(x)
    }
}
