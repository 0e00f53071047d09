//! Sequential models: a tuple of layers is a model that runs them in order.

use super::layer_name::at_layer;
use super::module::Module;
use crate::error::Result;
use crate::shape::ShapeMismatch;

/// `impl Module<X0> for (M0, M1, ...)`: layer `i` maps `Xi` to `Xi+1`, the last one to `Y`.
/// The bounds sit in the generic list (`Mi: Module<Xi, Output = Xi+1>`), each intermediate
/// type a parameter fixed by the layer before it, so one macro writes every arity. The
/// shape checks of every layer run first, as one constant (a build error names the first
/// layer that does not fit, by position, with its sizes, at the user's `forward` call); a
/// run-time error names the layer's position and type.
macro_rules! tuple_module {
    ($X0:ident; $($M:ident: $X:ident -> $Y:ident @ $i:tt),+) => {
        impl<$($X, $M: Module<$X, Output = $Y>,)+ Y> Module<$X0> for ($($M,)+) {
            type Output = Y;
            // One constant for the whole model, naming the first layer that does not fit by
            // its position; the layers are then run unchecked so that it is reported once.
            const SHAPE_MISMATCH: ShapeMismatch =
                ShapeMismatch::NONE $(.or(<$M as Module<$X>>::SHAPE_MISMATCH.at($i)))+;
            fn try_forward(&self, x: $X0) -> Result<Self::Output> {
                let () = <Self as Module<$X0>>::SHAPE_CHECK;
                self.try_forward_unchecked(x)
            }
            fn try_forward_train(&mut self, x: $X0) -> Result<Self::Output> {
                let () = <Self as Module<$X0>>::SHAPE_CHECK;
                self.try_forward_train_unchecked(x)
            }
            fn try_forward_unchecked(&self, x: $X0) -> Result<Self::Output> {
                $(let x = self.$i.try_forward_unchecked(x).map_err(|e| at_layer::<$M>(e, $i))?;)+
                Ok(x)
            }
            fn try_forward_train_unchecked(&mut self, x: $X0) -> Result<Self::Output> {
                $(let x = self.$i.try_forward_train_unchecked(x).map_err(|e| at_layer::<$M>(e, $i))?;)+
                Ok(x)
            }
        }
    };
}

tuple_module!(X0; M0: X0 -> Y @ 0);
tuple_module!(X0; M0: X0 -> X1 @ 0, M1: X1 -> Y @ 1);
tuple_module!(X0; M0: X0 -> X1 @ 0, M1: X1 -> X2 @ 1, M2: X2 -> Y @ 2);
tuple_module!(X0; M0: X0 -> X1 @ 0, M1: X1 -> X2 @ 1, M2: X2 -> X3 @ 2, M3: X3 -> Y @ 3);
tuple_module!(X0;
    M0: X0 -> X1 @ 0, M1: X1 -> X2 @ 1, M2: X2 -> X3 @ 2, M3: X3 -> X4 @ 3, M4: X4 -> Y @ 4
);
tuple_module!(X0;
    M0: X0 -> X1 @ 0, M1: X1 -> X2 @ 1, M2: X2 -> X3 @ 2, M3: X3 -> X4 @ 3, M4: X4 -> X5 @ 4,
    M5: X5 -> Y @ 5
);
tuple_module!(X0;
    M0: X0 -> X1 @ 0, M1: X1 -> X2 @ 1, M2: X2 -> X3 @ 2, M3: X3 -> X4 @ 3, M4: X4 -> X5 @ 4,
    M5: X5 -> X6 @ 5, M6: X6 -> Y @ 6
);
tuple_module!(X0;
    M0: X0 -> X1 @ 0, M1: X1 -> X2 @ 1, M2: X2 -> X3 @ 2, M3: X3 -> X4 @ 3, M4: X4 -> X5 @ 4,
    M5: X5 -> X6 @ 5, M6: X6 -> X7 @ 6, M7: X7 -> Y @ 7
);
tuple_module!(X0;
    M0: X0 -> X1 @ 0, M1: X1 -> X2 @ 1, M2: X2 -> X3 @ 2, M3: X3 -> X4 @ 3, M4: X4 -> X5 @ 4,
    M5: X5 -> X6 @ 5, M6: X6 -> X7 @ 6, M7: X7 -> X8 @ 7, M8: X8 -> Y @ 8
);
tuple_module!(X0;
    M0: X0 -> X1 @ 0, M1: X1 -> X2 @ 1, M2: X2 -> X3 @ 2, M3: X3 -> X4 @ 3, M4: X4 -> X5 @ 4,
    M5: X5 -> X6 @ 5, M6: X6 -> X7 @ 6, M7: X7 -> X8 @ 7, M8: X8 -> X9 @ 8, M9: X9 -> Y @ 9
);
tuple_module!(X0;
    M0: X0 -> X1 @ 0, M1: X1 -> X2 @ 1, M2: X2 -> X3 @ 2, M3: X3 -> X4 @ 3, M4: X4 -> X5 @ 4,
    M5: X5 -> X6 @ 5, M6: X6 -> X7 @ 6, M7: X7 -> X8 @ 7, M8: X8 -> X9 @ 8, M9: X9 -> X10 @ 9,
    M10: X10 -> Y @ 10
);
tuple_module!(X0;
    M0: X0 -> X1 @ 0, M1: X1 -> X2 @ 1, M2: X2 -> X3 @ 2, M3: X3 -> X4 @ 3, M4: X4 -> X5 @ 4,
    M5: X5 -> X6 @ 5, M6: X6 -> X7 @ 6, M7: X7 -> X8 @ 7, M8: X8 -> X9 @ 8, M9: X9 -> X10 @ 9,
    M10: X10 -> X11 @ 10, M11: X11 -> Y @ 11
);
