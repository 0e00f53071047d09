//! Tests of the broadcast loops and their gradients against an element-by-element index walk.

use super::*;

/// The broadcast of `a_dims` and `b_dims` (right-aligned, as PyTorch's).
fn broadcast(a_dims: &[usize], b_dims: &[usize]) -> Vec<usize> {
    let rank = a_dims.len().max(b_dims.len());
    let at = |d: &[usize], i: usize| (i + d.len()).checked_sub(rank).map_or(1, |j| d[j]);
    (0..rank)
        .map(|i| match (at(a_dims, i), at(b_dims, i)) {
            (1, n) | (n, _) => n,
        })
        .collect()
}

/// The periodic loops (an operand repeated over leading dimensions) and the row loops of
/// other broadcasts (an operand repeated along the last dimension, or both) agree with
/// an element-by-element index walk: values, in place, and the gradients of both sides,
/// across the thread split.
#[test]
fn broadcasts_match_the_index_walk() {
    let cases: [(&[usize], &[usize]); 22] = [
        (&[8, 16, 7, 9], &[1, 16, 1, 1]),
        // Past the split into partial sums (a per-channel scale's gradient).
        (&[8, 16, 32, 33], &[1, 16, 1, 1]),
        (&[1, 5, 1], &[7000, 5, 3]),
        (&[1, 16, 1, 1], &[8, 16, 7, 9]),
        (&[1, 1], &[1]),
        (&[3, 1, 1, 5], &[3, 4, 6, 1]),
        (&[2, 1, 4, 1, 3], &[1, 5, 4, 6, 1]),
        (&[4, 1, 6], &[1, 1, 6]),
        (&[600, 200], &[600, 1]),
        (&[600, 1], &[1, 200]),
        (&[1, 200], &[600, 1]),
        (&[2, 1, 5], &[3, 1]),
        (&[0, 3], &[3]),
        (&[16, 128, 64], &[128, 64]),
        (&[128, 64], &[16, 128, 64]),
        (&[5, 3, 70], &[1, 3, 70]),
        (&[1200, 70], &[70]),
        (&[70], &[1200, 70]),
        (&[4, 3, 70], &[4, 1, 70]),
        (&[300, 8], &[8]),
        (&[2, 3], &[2, 3]),
        (&[600, 200], &[600, 200]),
    ];
    let f = |x: f64, y: f64| 2.0 * x - y * y;
    let (dfa, dfb) = (|_: f64, _: f64| 2.0, |_: f64, y: f64| -2.0 * y);
    for (ad, bd) in cases {
        let od = broadcast(ad, bd);
        let n: usize = od.iter().product();
        let value = |len: usize, seed: f64| -> Vec<f64> {
            (0..len).map(|i| (i as f64 * seed).sin()).collect()
        };
        let (a, b) = (
            value(ad.iter().product(), 0.37),
            value(bd.iter().product(), 0.91),
        );
        let gy = value(n, 0.53);
        let (sa, sb) = (broadcast_strides(ad, &od), broadcast_strides(bd, &od));
        let mut want = vec![0.0; n];
        let mut want_ga = vec![0.0; a.len()];
        let mut want_gb = vec![0.0; b.len()];
        for_each_broadcast2(&od, &sa, &sb, |i, ia, ib| {
            want[i] = f(a[ia], b[ib]);
            want_ga[ia] += gy[i] * dfa(a[ia], b[ib]);
            want_gb[ib] += gy[i] * dfb(a[ia], b[ib]);
        });
        let case = format!("{ad:?} with {bd:?}");
        assert_eq!(binary_map(&a, ad, &b, bd, &od, f), want, "{case}");
        if ad == &od[..] {
            let mut inplace = a.clone();
            binary_map_inplace(&mut inplace, &od, &b, bd, f);
            assert_eq!(inplace, want, "{case}, in place");
        }
        let mut ga = vec![0.0; a.len()];
        binary_grad(&mut ga, 0, Some(&gy), &a, ad, &b, bd, &od, dfa);
        let mut gb = vec![0.0; b.len()];
        binary_grad(&mut gb, 1, Some(&gy), &a, ad, &b, bd, &od, dfb);
        let mut want_bb = vec![0.0; n];
        for_each_broadcast2(&od, &sb, &sb, |i, ib, _| want_bb[i] = b[ib]);
        assert_eq!(broadcast_to(&b, bd, &od), want_bb, "{case}: b broadcast");
        let (mut sum_a, mut sum_b) = (vec![0.0; a.len()], vec![0.0; b.len()]);
        sum_to_shape(&mut sum_a, ad, &gy, &od);
        sum_to_shape(&mut sum_b, bd, &gy, &od);
        let (mut want_sa, mut want_sb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
        for_each_broadcast2(&od, &sa, &sb, |i, ia, ib| {
            want_sa[ia] += gy[i];
            want_sb[ib] += gy[i];
        });
        // An input of the output's shape takes its gradient in place too (written over
        // a copy of `gy`).
        let in_place = |which: usize| {
            let mut g = gy.clone();
            let d = if which == 0 { dfa } else { dfb };
            binary_grad(&mut g, which, None, &a, ad, &b, bd, &od, d);
            g
        };
        let (ga_in, gb_in) = (
            if ad == &od[..] {
                in_place(0)
            } else {
                want_ga.clone()
            },
            if bd == &od[..] {
                in_place(1)
            } else {
                want_gb.clone()
            },
        );
        let sides = [
            (ga, want_ga.clone(), "gradient of a"),
            (gb, want_gb.clone(), "gradient of b"),
            (ga_in, want_ga, "gradient of a in place"),
            (gb_in, want_gb, "gradient of b in place"),
            (sum_a, want_sa, "sum to a"),
            (sum_b, want_sb, "sum to b"),
        ];
        for (got, want, side) in sides {
            let close = got
                .iter()
                .zip(&want)
                .all(|(g, w)| (g - w).abs() <= 1e-9 * (1.0 + w.abs()));
            assert!(close, "{case}: {side}");
        }
    }
    assert_eq!(repeat_period(&[128, 64], &[16, 128, 64]), Some(8192));
    assert_eq!(repeat_period(&[1, 1, 70], &[9, 2, 70]), Some(70));
    assert_eq!(repeat_period(&[2, 1, 70], &[2, 3, 70]), None);
    assert_eq!(repeat_period(&[70, 1], &[70, 70]), None);
    assert_eq!(repeat_period(&[8], &[300, 8]), None);
    assert_eq!(repeat_period(&[0, 3], &[0, 3]), None);
}
