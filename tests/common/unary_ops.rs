//! The one list of unary ops that the tests walk: `unary_ops!(callback)` hands every row to
//! `callback!`. tests/gradcheck_props.rs turns each row into a finite-difference property on
//! a static shape and a check on a run-time shape; tests/golden_elementwise.rs turns each row
//! with a PyTorch case into a golden test. A new unary op is one row here.
//!
//! A row: `name(golden case or none, values for the static gradcheck, domain on run-time
//! shapes (any, or positive: |x| + 0.1), points the values must stay clear of; parameters)
//! => |x| body;`. Each parameter is `name: gradcheck strategy, value on run-time shapes, golden
//! hyperparameter key (- when there is no golden case)`.

#[allow(unused_macros)]
macro_rules! unary_ops {
    ($callback:ident) => {
        $callback! {
            neg("unary_neg", reals(), any, [];) => |x| x.neg();
            abs("unary_abs", off_zero(), any, [];) => |x| x.abs();
            exp("unary_exp", reals(), any, [];) => |x| x.exp();
            ln("unary_log", positive(), positive, [];) => |x| x.ln();
            sqrt("unary_sqrt", positive(), positive, [];) => |x| x.sqrt();
            square(none, reals(), any, [];) => |x| x.square();
            sin(none, reals(), any, [];) => |x| x.sin();
            cos(none, reals(), any, [];) => |x| x.cos();
            tanh("unary_tanh", reals(), any, [];) => |x| x.tanh();
            sigmoid("unary_sigmoid", -10.0..10.0, any, [];) => |x| x.sigmoid();
            relu("unary_relu", off_zero(), any, [];) => |x| x.relu();
            leaky_relu("unary_leaky_relu", off_zero(), any, [];
                slope: -0.5..1.0, 0.1, "negative_slope") => |x| x.leaky_relu(slope);
            gelu("unary_gelu_erf", -5.0..5.0, any, [];) => |x| x.gelu();
            gelu_tanh("unary_gelu_tanh", -5.0..5.0, any, [];) => |x| x.gelu_tanh();
            silu("unary_silu", -8.0..8.0, any, [];) => |x| x.silu();
            softplus("unary_softplus", -5.0..5.0, any, [];
                beta: 0.5..3.0, 1.0, "beta";
                threshold: Just(20.0), 20.0, "threshold") => |x| x.softplus(beta, threshold);
            clamp("unary_clamp", reals(), any, [lo, hi];
                lo: -2.0..0.0, -1.0, "min";
                hi: 0.0..2.0, 1.0, "max") => |x| x.clamp(lo, hi);
            elu("unary_elu", off_zero(), any, [];
                alpha: 0.1..2.0, 1.0, "alpha") => |x| x.elu(alpha);
            selu("unary_selu", off_zero(), any, [];) => |x| x.selu();
            celu("unary_celu", off_zero(), any, [];
                alpha: 0.2..2.0, 1.0, "alpha") => |x| x.celu(alpha);
            hardtanh("unary_hardtanh", reals(), any, [lo, hi];
                lo: -2.0..0.0, -1.0, "min_val";
                hi: 0.0..2.0, 1.0, "max_val") => |x| x.hardtanh(lo, hi);
            relu6("unary_relu6", -3.0..9.0, any, [0.0, 6.0];) => |x| x.relu6();
            hardsigmoid("unary_hardsigmoid", -5.0..5.0, any, [-3.0, 3.0];) => |x| x.hardsigmoid();
            hardswish("unary_hardswish", -5.0..5.0, any, [-3.0, 3.0];) => |x| x.hardswish();
            mish("unary_mish", -8.0..8.0, any, [];) => |x| x.mish();
            softsign("unary_softsign", reals(), any, [];) => |x| x.softsign();
            logsigmoid("unary_logsigmoid", -10.0..10.0, any, [];) => |x| x.logsigmoid();
            tanhshrink("unary_tanhshrink", reals(), any, [];) => |x| x.tanhshrink();
            hardshrink("unary_hardshrink", reals(), any, [-lambd, lambd];
                lambd: 0.1f64..1.5, 1.0, "lambd") => |x| x.hardshrink(lambd);
            softshrink("unary_softshrink", reals(), any, [-lambd, lambd];
                lambd: 0.1f64..1.5, 1.0, "lambd") => |x| x.softshrink(lambd);
            threshold("unary_threshold", reals(), any, [th];
                th: -1.0..1.0, 0.0, "threshold";
                value: reals(), 0.5, "value") => |x| x.threshold(th, value);
            powf("unary_pow", positive(), positive, [];
                p: -2.0..3.0, 1.7, "exponent") => |x| x.powf(p);
            add_scalar(none, reals(), any, []; c: reals(), 0.5, -) => |x| x.add_scalar(c);
            sub_scalar(none, reals(), any, []; c: reals(), 0.5, -) => |x| x.sub_scalar(c);
            mul_scalar(none, reals(), any, []; c: reals(), -2.0, -) => |x| x.mul_scalar(c);
            div_scalar(none, reals(), any, []; c: nonzero(), 3.0, -) => |x| x.div_scalar(c);
            rdiv_scalar(none, nonzero(), any, []; c: reals(), 2.0, -) => |x| x.rdiv_scalar(c);
        }
    };
}
