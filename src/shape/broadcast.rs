//! Type-level rules for when two dimensions or shapes fit together: equality (matmul's inner
//! dimension, concat's other axes) and PyTorch broadcasting (elementwise ops).
//!
//! Static dimensions are compared by the trait solver, so a mismatch is reported by
//! `cargo check`. Where a static dimension meets a dynamic one, the static one wins and the
//! dynamic size is checked at run time (nalgebra's `DimEq` idea).
//!
//! Stable Rust cannot branch on the value of a const generic, so "`Const<1>` broadcasts
//! against `Const<K>`" holds for every `K` up to [`MAX_BROADCAST_ONE`] through a marker
//! ([`NotOne`]) spelled out per size; larger dimensions broadcast from size one with an
//! explicit `broadcast_to`.

use super::dim::{Const, Dim, DimExpr};
use super::shape::Shape;
use crate::error::{Error, Result};

/// The largest `K` for which `Const<1>` broadcasts against `Const<K>` by type alone.
pub const MAX_BROADCAST_ONE: usize = 1024;

/// Two dimensions that must be equal. `Output` is the static one when one side is `Const`,
/// and the left one when both are computed (two computed dimensions of the same size are the
/// same dimension: `ConvOut<Const<16>, 3, 1, 1, 1>` meets `ConvOut<Const<16>, 1, 1, 0, 1>`).
///
/// Two `Const`s must have the same `N` (a trait error, reported by `cargo check`); where a
/// computed dimension is involved the sizes are compared by the op's build-time check (see
/// [`STATIC_MISMATCH`](DimEq::STATIC_MISMATCH)), and run-time sizes by [`dim_eq`](DimEq::dim_eq).
///
/// ```
/// use shaped::shape::{Const, ConvOut, DimEq};
/// let d: Const<4> = 4usize.dim_eq(Const::<4>).unwrap();
/// assert!(5usize.dim_eq(Const::<4>).is_err());
/// // Two computed dimensions of the same size: the left one is kept.
/// let a = ConvOut::<Const<16>, 3, 1, 1, 1>::default();
/// let b = ConvOut::<Const<16>, 1, 1, 0, 1>::default();
/// let _: ConvOut<Const<16>, 3, 1, 1, 1> = a.dim_eq(b).unwrap();
/// ```
#[diagnostic::on_unimplemented(
    message = "dimension mismatch: `{Self}` must equal `{Rhs}`",
    label = "these dimensions differ",
    note = "these must agree: matmul's inner and batch dimensions, concat's and stack's other axes, a layer's input size and the size in its type, Residual's x and f(x), realize's source and target"
)]
pub trait DimEq<Rhs: Dim>: Dim {
    /// The dimension both sides agree on.
    type Output: Dim;
    /// Both sizes, when the compiler knows them and they differ. Ops turn this into a
    /// build-time error naming the op and the two sizes.
    const STATIC_MISMATCH: Option<(usize, usize)>;
    /// Checks the sizes at run time (free for two static dimensions); static sizes that
    /// differ fail the build.
    fn dim_eq(self, rhs: Rhs) -> Result<Self::Output>;
    /// Compares the run-time sizes only, for ops that report static mismatches through
    /// their own build-time check (naming the op).
    fn sizes_equal(&self, rhs: &Rhs) -> Result<()> {
        same(self.size(), rhs.size(), ())
    }
}

/// How one kind of dimension meets another where they must be equal; [`DimEq`] is implemented
/// through it. Every [`Dim`] unifies with itself (a supertrait of `Dim`), so generic code over
/// `D: Dim` needs no extra bound.
#[diagnostic::on_unimplemented(
    message = "dimension mismatch: `{Self}` must equal `{Rhs}`",
    label = "these dimensions differ",
    note = "these must agree: matmul's inner and batch dimensions, concat's and stack's other axes, a layer's input size and the size in its type, Residual's x and f(x), realize's source and target"
)]
pub trait DimUnify<Rhs: Dim> {
    /// The dimension both sides agree on.
    type Unified: Dim;
    /// Both sizes, when the compiler knows them and they differ.
    const UNIFY_MISMATCH: Option<(usize, usize)>;
    /// Checks the sizes at run time.
    fn unify(self, rhs: Rhs) -> Result<Self::Unified>;
}

impl<A: Dim + DimUnify<B>, B: Dim> DimEq<B> for A {
    type Output = <A as DimUnify<B>>::Unified;
    const STATIC_MISMATCH: Option<(usize, usize)> = <A as DimUnify<B>>::UNIFY_MISMATCH;
    #[inline(always)]
    fn dim_eq(self, rhs: B) -> Result<Self::Output> {
        let () = crate::shape::check::DimCheck::<A, B, crate::shape::check::AnyDim>::OK;
        self.unify(rhs)
    }
}

fn mismatch(a: usize, b: usize) -> Error {
    Error::shape(
        "dimension check",
        format!("dimension {a} must equal dimension {b}"),
    )
}

/// Both sizes when both are known and differ.
const fn differ(a: Option<usize>, b: Option<usize>) -> Option<(usize, usize)> {
    match (a, b) {
        (Some(a), Some(b)) if a != b => Some((a, b)),
        _ => None,
    }
}

/// `keep` when the sizes agree, a mismatch error otherwise.
#[inline]
fn same<D>(a: usize, b: usize, keep: D) -> Result<D> {
    if a == b {
        Ok(keep)
    } else {
        Err(mismatch(a, b))
    }
}

impl<const N: usize> DimUnify<Const<N>> for Const<N> {
    type Unified = Const<N>;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    #[inline(always)]
    fn unify(self, _: Const<N>) -> Result<Const<N>> {
        Ok(self)
    }
}
impl DimUnify<usize> for usize {
    type Unified = usize;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    #[inline]
    fn unify(self, rhs: usize) -> Result<usize> {
        same(self, rhs, self)
    }
}
impl<const N: usize> DimUnify<usize> for Const<N> {
    type Unified = Const<N>;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    fn unify(self, rhs: usize) -> Result<Const<N>> {
        same(N, rhs, self)
    }
}
impl<const N: usize> DimUnify<Const<N>> for usize {
    type Unified = Const<N>;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    fn unify(self, rhs: Const<N>) -> Result<Const<N>> {
        same(self, N, rhs)
    }
}
impl<E: DimExpr, const N: usize> DimUnify<Const<N>> for E {
    type Unified = Const<N>;
    const UNIFY_MISMATCH: Option<(usize, usize)> = differ(E::STATIC_SIZE, Some(N));
    fn unify(self, rhs: Const<N>) -> Result<Const<N>> {
        same(self.size(), N, rhs)
    }
}
impl<E: DimExpr, const N: usize> DimUnify<E> for Const<N> {
    type Unified = Const<N>;
    const UNIFY_MISMATCH: Option<(usize, usize)> = differ(Some(N), E::STATIC_SIZE);
    fn unify(self, rhs: E) -> Result<Const<N>> {
        same(N, rhs.size(), self)
    }
}
impl<E: DimExpr> DimUnify<usize> for E {
    type Unified = E;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    fn unify(self, rhs: usize) -> Result<E> {
        same(self.size(), rhs, self)
    }
}
impl<E: DimExpr> DimUnify<E> for usize {
    type Unified = E;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    fn unify(self, rhs: E) -> Result<E> {
        same(self, rhs.size(), rhs)
    }
}
/// Two computed dimensions (any nesting of `ConvOut`, `PoolOut`, `Prod`, ...): equal sizes
/// unify, and the left one names the result so that types grow linearly along a model.
impl<E1: DimExpr, E2: DimExpr> DimUnify<E2> for E1 {
    type Unified = E1;
    const UNIFY_MISMATCH: Option<(usize, usize)> = differ(E1::STATIC_SIZE, E2::STATIC_SIZE);
    fn unify(self, rhs: E2) -> Result<E1> {
        same(self.size(), rhs.size(), self)
    }
}

/// Two dimensions that broadcast together (equal, or one of them is 1).
///
/// Static sizes that do not broadcast are a trait error between two `Const`s (reported by
/// `cargo check`) and a build-time error naming both sizes where a computed dimension is
/// involved ([`STATIC_MISMATCH`](BroadcastDim::STATIC_MISMATCH)). Where a computed dimension
/// meets another dimension, the computed one names the result (the left one between two
/// computed dimensions), so it cannot be the size-1 side: a computed dimension of size 1
/// broadcast up to a larger size is refused, naming both sizes (use `broadcast_to`, or put
/// the larger operand on that side).
///
/// ```
/// use shaped::shape::{BroadcastDim, Const, ConvOut};
/// let d: Const<5> = Const::<1>.broadcast_dim(Const::<5>).unwrap();
/// let e: Const<5> = 5usize.broadcast_dim(Const::<5>).unwrap();
/// assert!(3usize.broadcast_dim(Const::<5>).is_err());
/// let c = ConvOut::<Const<8>, 3, 1, 1, 1>::default();
/// let _: ConvOut<Const<8>, 3, 1, 1, 1> = c.broadcast_dim(Const::<1>).unwrap();
/// ```
#[diagnostic::on_unimplemented(
    message = "dimensions `{Self}` and `{Rhs}` do not broadcast",
    label = "neither is 1 and they differ (or a 1 meets a size past 1024)",
    note = "PyTorch broadcasting: aligned from the right, each pair of dimensions must be equal or one of them 1",
    note = "by type alone, `Const<1>` and `usize` broadcast against `Const<K>` for K up to 1024 (`MAX_BROADCAST_ONE`); past it, `broadcast_to` the size-1 operand first"
)]
pub trait BroadcastDim<Rhs: Dim>: Dim {
    /// The broadcast dimension.
    type Output: Dim;
    /// Both sizes, when the compiler knows them and the output type cannot hold their
    /// broadcast. Ops turn this into a build-time error naming the op and the two sizes.
    const STATIC_MISMATCH: Option<(usize, usize)>;
    /// The broadcast dimension, checking run-time sizes.
    fn broadcast_dim(self, rhs: Rhs) -> Result<Self::Output>;
}

/// How one kind of dimension broadcasts with another; [`BroadcastDim`] is implemented through
/// it. Every [`Dim`] broadcasts with itself (a supertrait of `Dim`).
#[diagnostic::on_unimplemented(
    message = "dimensions `{Self}` and `{Rhs}` do not broadcast",
    label = "neither is 1 and they differ (or a 1 meets a size past 1024)",
    note = "PyTorch broadcasting: aligned from the right, each pair of dimensions must be equal or one of them 1",
    note = "by type alone, `Const<1>` and `usize` broadcast against `Const<K>` for K up to 1024 (`MAX_BROADCAST_ONE`); past it, `broadcast_to` the size-1 operand first"
)]
pub trait DimBroadcast<Rhs: Dim> {
    /// The broadcast dimension.
    type Broadcast: Dim;
    /// Both sizes, when the compiler knows them and the output type cannot hold their
    /// broadcast.
    const BROADCAST_MISMATCH: Option<(usize, usize)>;
    /// The broadcast dimension, checking run-time sizes.
    fn broadcast(self, rhs: Rhs) -> Result<Self::Broadcast>;
}

impl<A: Dim + DimBroadcast<B>, B: Dim> BroadcastDim<B> for A {
    type Output = <A as DimBroadcast<B>>::Broadcast;
    const STATIC_MISMATCH: Option<(usize, usize)> = <A as DimBroadcast<B>>::BROADCAST_MISMATCH;
    #[inline(always)]
    fn broadcast_dim(self, rhs: B) -> Result<Self::Output> {
        self.broadcast(rhs)
    }
}

fn broadcast_size(a: usize, b: usize) -> Result<usize> {
    if a == b || b == 1 {
        Ok(a)
    } else if a == 1 {
        Ok(b)
    } else {
        Err(Error::shape(
            "broadcast",
            format!("dimensions {a} and {b} do not broadcast (they differ and neither is 1)"),
        ))
    }
}

/// The shape error for two shapes that do not broadcast, naming the op and both shapes.
fn shapes_error(op: &'static str, a: &[usize], b: &[usize], e: Error) -> Error {
    let why = match e {
        Error::Shape { message, .. } => message,
        e => e.to_string(),
    };
    // Already phrased with both shapes (by a shape's own `broadcast_shapes`): keep it once.
    if why.starts_with("shapes ") {
        return Error::shape(op, why);
    }
    Error::shape(
        op,
        format!("shapes {a:?} and {b:?} do not broadcast: {why}"),
    )
}

/// `a.broadcast_shapes(b)` for the op `op`: an error names the op and both shapes, and a
/// result too large to exist ((n, 1) with (1, n) for a huge n) is an error too.
pub(crate) fn broadcast_for<A: BroadcastShapes<B>, B: Shape>(
    op: &'static str,
    a: &A,
    b: &B,
) -> Result<A::Output> {
    let (ad, bd) = (a.dims(), b.dims());
    let out = a
        .broadcast_shapes(b)
        .map_err(|e| shapes_error(op, &ad, &bd, e))?;
    if out.dims().checked_numel().is_none() {
        return Err(Error::shape(
            op,
            format!(
                "shapes {:?} and {:?} broadcast to {:?}, which is too large (its element count overflows)",
                ad.as_slice(),
                bd.as_slice(),
                out.dims().as_slice()
            ),
        ));
    }
    Ok(out)
}

/// Where the output keeps the computed side `kept`: the other side must be equal or 1.
fn broadcast_into(kept: usize, other: usize) -> Result<()> {
    if kept == other || other == 1 {
        Ok(())
    } else if kept == 1 {
        Err(Error::shape(
            "broadcast",
            format!(
                "a computed dimension of size 1 cannot be broadcast to {other} here (its type names the result); use broadcast_to"
            ),
        ))
    } else {
        Err(Error::shape(
            "broadcast",
            format!("dimensions {kept} and {other} do not broadcast"),
        ))
    }
}

/// Both sizes when known and the computed side `kept` cannot hold the broadcast.
const fn kept_mismatch(kept: Option<usize>, other: Option<usize>) -> Option<(usize, usize)> {
    match (kept, other) {
        (Some(k), Some(o)) if k != o && o != 1 => Some((k, o)),
        _ => None,
    }
}

impl<const N: usize> DimBroadcast<Const<N>> for Const<N> {
    type Broadcast = Const<N>;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline(always)]
    fn broadcast(self, _: Const<N>) -> Result<Const<N>> {
        Ok(self)
    }
}
impl DimBroadcast<usize> for usize {
    type Broadcast = usize;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline]
    fn broadcast(self, rhs: usize) -> Result<usize> {
        broadcast_size(self, rhs)
    }
}
impl DimBroadcast<usize> for Const<1> {
    type Broadcast = usize;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    fn broadcast(self, rhs: usize) -> Result<usize> {
        Ok(rhs)
    }
}
impl DimBroadcast<Const<1>> for usize {
    type Broadcast = usize;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    fn broadcast(self, _: Const<1>) -> Result<usize> {
        Ok(self)
    }
}
impl<E: DimExpr, const N: usize> DimBroadcast<Const<N>> for E {
    type Broadcast = E;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = kept_mismatch(E::STATIC_SIZE, Some(N));
    fn broadcast(self, _: Const<N>) -> Result<E> {
        broadcast_into(self.size(), N).map(|_| self)
    }
}
impl<E: DimExpr, const N: usize> DimBroadcast<E> for Const<N> {
    type Broadcast = E;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = match kept_mismatch(E::STATIC_SIZE, Some(N))
    {
        Some((k, o)) => Some((o, k)),
        None => None,
    };
    fn broadcast(self, rhs: E) -> Result<E> {
        broadcast_into(rhs.size(), N).map(|_| rhs)
    }
}
impl<E: DimExpr> DimBroadcast<usize> for E {
    type Broadcast = E;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    fn broadcast(self, rhs: usize) -> Result<E> {
        broadcast_into(self.size(), rhs).map(|_| self)
    }
}
impl<E: DimExpr> DimBroadcast<E> for usize {
    type Broadcast = E;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    fn broadcast(self, rhs: E) -> Result<E> {
        broadcast_into(rhs.size(), self).map(|_| rhs)
    }
}
/// Two computed dimensions: equal sizes (or a right side of 1) broadcast, and the left one
/// names the result, so types grow linearly along a model (`x + f(x)` stays `x`'s type).
impl<E1: DimExpr, E2: DimExpr> DimBroadcast<E2> for E1 {
    type Broadcast = E1;
    const BROADCAST_MISMATCH: Option<(usize, usize)> =
        kept_mismatch(E1::STATIC_SIZE, E2::STATIC_SIZE);
    fn broadcast(self, rhs: E2) -> Result<E1> {
        broadcast_into(self.size(), rhs.size()).map(|_| self)
    }
}

/// A `Const<K>` with `K` other than 1, up to [`MAX_BROADCAST_ONE`]: the sizes that `Const<1>`
/// and a run-time `usize` broadcast against by type alone.
///
/// Stable Rust cannot branch on the value of a const generic, and `Const<1>` with `Const<K>`
/// must give `Const<K>` while `Const<1>` with `usize` gives `usize`: the four generic
/// broadcasting impls below are bounded by this marker, which is spelled out once per size.
/// (Four impls with methods per size instead cost a fifth of this crate's compile time.)
/// Other crates cannot implement it for `Const` (the orphan rule), so the limit holds.
///
/// ```
/// use shaped::shape::{BroadcastDim, Const, NotOne};
/// fn widen<const K: usize>(one: Const<1>) -> Const<K>
/// where
///     Const<K>: NotOne,
/// {
///     one.broadcast_dim(Const::<K>).unwrap()
/// }
/// assert_eq!(widen::<768>(Const), Const::<768>);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not broadcast against size 1 or a run-time size by type alone",
    label = "`Const<1>` and `usize` broadcast by type against `Const<K>` for K up to 1024 only",
    note = "by type alone, `Const<1>` and `usize` broadcast against `Const<K>` for K up to `shaped::shape::MAX_BROADCAST_ONE` (1024); for a larger K, `broadcast_to` the smaller operand first"
)]
pub trait NotOne {}

impl<const K: usize> DimBroadcast<Const<K>> for Const<1>
where
    Const<K>: NotOne,
{
    type Broadcast = Const<K>;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline(always)]
    fn broadcast(self, rhs: Const<K>) -> Result<Const<K>> {
        Ok(rhs)
    }
}
impl<const K: usize> DimBroadcast<Const<1>> for Const<K>
where
    Const<K>: NotOne,
{
    type Broadcast = Const<K>;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline(always)]
    fn broadcast(self, _: Const<1>) -> Result<Const<K>> {
        Ok(self)
    }
}
impl<const K: usize> DimBroadcast<usize> for Const<K>
where
    Const<K>: NotOne,
{
    type Broadcast = Const<K>;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline]
    fn broadcast(self, rhs: usize) -> Result<Const<K>> {
        broadcast_size(K, rhs).map(|_| self)
    }
}
impl<const K: usize> DimBroadcast<Const<K>> for usize
where
    Const<K>: NotOne,
{
    type Broadcast = Const<K>;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline]
    fn broadcast(self, rhs: Const<K>) -> Result<Const<K>> {
        broadcast_size(K, self).map(|_| rhs)
    }
}

macro_rules! broadcast_one {
    ($($k:literal)*) => {$(
        impl NotOne for Const<$k> {}
    )*};
}

broadcast_one!(0 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
broadcast_one!(17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32);
broadcast_one!(33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48);
broadcast_one!(49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64);
broadcast_one!(65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80);
broadcast_one!(81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96);
broadcast_one!(97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112);
broadcast_one!(113 114 115 116 117 118 119 120 121 122 123 124 125 126 127 128);
broadcast_one!(129 130 131 132 133 134 135 136 137 138 139 140 141 142 143 144);
broadcast_one!(145 146 147 148 149 150 151 152 153 154 155 156 157 158 159 160);
broadcast_one!(161 162 163 164 165 166 167 168 169 170 171 172 173 174 175 176);
broadcast_one!(177 178 179 180 181 182 183 184 185 186 187 188 189 190 191 192);
broadcast_one!(193 194 195 196 197 198 199 200 201 202 203 204 205 206 207 208);
broadcast_one!(209 210 211 212 213 214 215 216 217 218 219 220 221 222 223 224);
broadcast_one!(225 226 227 228 229 230 231 232 233 234 235 236 237 238 239 240);
broadcast_one!(241 242 243 244 245 246 247 248 249 250 251 252 253 254 255 256);
broadcast_one!(257 258 259 260 261 262 263 264 265 266 267 268 269 270 271 272);
broadcast_one!(273 274 275 276 277 278 279 280 281 282 283 284 285 286 287 288);
broadcast_one!(289 290 291 292 293 294 295 296 297 298 299 300 301 302 303 304);
broadcast_one!(305 306 307 308 309 310 311 312 313 314 315 316 317 318 319 320);
broadcast_one!(321 322 323 324 325 326 327 328 329 330 331 332 333 334 335 336);
broadcast_one!(337 338 339 340 341 342 343 344 345 346 347 348 349 350 351 352);
broadcast_one!(353 354 355 356 357 358 359 360 361 362 363 364 365 366 367 368);
broadcast_one!(369 370 371 372 373 374 375 376 377 378 379 380 381 382 383 384);
broadcast_one!(385 386 387 388 389 390 391 392 393 394 395 396 397 398 399 400);
broadcast_one!(401 402 403 404 405 406 407 408 409 410 411 412 413 414 415 416);
broadcast_one!(417 418 419 420 421 422 423 424 425 426 427 428 429 430 431 432);
broadcast_one!(433 434 435 436 437 438 439 440 441 442 443 444 445 446 447 448);
broadcast_one!(449 450 451 452 453 454 455 456 457 458 459 460 461 462 463 464);
broadcast_one!(465 466 467 468 469 470 471 472 473 474 475 476 477 478 479 480);
broadcast_one!(481 482 483 484 485 486 487 488 489 490 491 492 493 494 495 496);
broadcast_one!(497 498 499 500 501 502 503 504 505 506 507 508 509 510 511 512);
broadcast_one!(513 514 515 516 517 518 519 520 521 522 523 524 525 526 527 528);
broadcast_one!(529 530 531 532 533 534 535 536 537 538 539 540 541 542 543 544);
broadcast_one!(545 546 547 548 549 550 551 552 553 554 555 556 557 558 559 560);
broadcast_one!(561 562 563 564 565 566 567 568 569 570 571 572 573 574 575 576);
broadcast_one!(577 578 579 580 581 582 583 584 585 586 587 588 589 590 591 592);
broadcast_one!(593 594 595 596 597 598 599 600 601 602 603 604 605 606 607 608);
broadcast_one!(609 610 611 612 613 614 615 616 617 618 619 620 621 622 623 624);
broadcast_one!(625 626 627 628 629 630 631 632 633 634 635 636 637 638 639 640);
broadcast_one!(641 642 643 644 645 646 647 648 649 650 651 652 653 654 655 656);
broadcast_one!(657 658 659 660 661 662 663 664 665 666 667 668 669 670 671 672);
broadcast_one!(673 674 675 676 677 678 679 680 681 682 683 684 685 686 687 688);
broadcast_one!(689 690 691 692 693 694 695 696 697 698 699 700 701 702 703 704);
broadcast_one!(705 706 707 708 709 710 711 712 713 714 715 716 717 718 719 720);
broadcast_one!(721 722 723 724 725 726 727 728 729 730 731 732 733 734 735 736);
broadcast_one!(737 738 739 740 741 742 743 744 745 746 747 748 749 750 751 752);
broadcast_one!(753 754 755 756 757 758 759 760 761 762 763 764 765 766 767 768);
broadcast_one!(769 770 771 772 773 774 775 776 777 778 779 780 781 782 783 784);
broadcast_one!(785 786 787 788 789 790 791 792 793 794 795 796 797 798 799 800);
broadcast_one!(801 802 803 804 805 806 807 808 809 810 811 812 813 814 815 816);
broadcast_one!(817 818 819 820 821 822 823 824 825 826 827 828 829 830 831 832);
broadcast_one!(833 834 835 836 837 838 839 840 841 842 843 844 845 846 847 848);
broadcast_one!(849 850 851 852 853 854 855 856 857 858 859 860 861 862 863 864);
broadcast_one!(865 866 867 868 869 870 871 872 873 874 875 876 877 878 879 880);
broadcast_one!(881 882 883 884 885 886 887 888 889 890 891 892 893 894 895 896);
broadcast_one!(897 898 899 900 901 902 903 904 905 906 907 908 909 910 911 912);
broadcast_one!(913 914 915 916 917 918 919 920 921 922 923 924 925 926 927 928);
broadcast_one!(929 930 931 932 933 934 935 936 937 938 939 940 941 942 943 944);
broadcast_one!(945 946 947 948 949 950 951 952 953 954 955 956 957 958 959 960);
broadcast_one!(961 962 963 964 965 966 967 968 969 970 971 972 973 974 975 976);
broadcast_one!(977 978 979 980 981 982 983 984 985 986 987 988 989 990 991 992);
broadcast_one!(993 994 995 996 997 998 999 1000 1001 1002 1003 1004 1005 1006 1007 1008);
broadcast_one!(1009 1010 1011 1012 1013 1014 1015 1016 1017 1018 1019 1020 1021 1022 1023 1024);

/// Two shapes that broadcast together under PyTorch's rules: aligned from the right,
/// missing leading dimensions count as 1.
///
/// ```
/// use shaped::shape::{BroadcastShapes, Rank2, Rank3, Shape};
/// let out = <Rank3<3, 1, 5>>::default().broadcast_shapes(&<Rank2<4, 5>>::default()).unwrap();
/// assert_eq!(out.dims().as_slice(), &[3, 4, 5]);
/// ```
#[diagnostic::on_unimplemented(
    message = "shapes `{Self}` and `{Rhs}` do not broadcast",
    note = "PyTorch broadcasting: aligned from the right, each pair of dimensions must be equal or one of them 1"
)]
pub trait BroadcastShapes<Rhs: Shape>: Shape {
    /// The broadcast shape.
    type Output: Shape;
    /// The first pair of static sizes that the output cannot hold, with its axis in the
    /// output: `(lhs size, rhs size, axis)`. Ops turn this into a build-time error.
    const STATIC_MISMATCH: Option<(usize, usize, usize)>;
    /// The broadcast shape, checking run-time sizes.
    fn broadcast_shapes(&self, rhs: &Rhs) -> Result<Self::Output>;
}

/// The first `Some` in `pairs`, with its axis (`lead` dimensions come before the pairs).
pub(crate) const fn first_mismatch(
    pairs: &[Option<(usize, usize)>],
    lead: usize,
) -> Option<(usize, usize, usize)> {
    let mut i = 0;
    while i < pairs.len() {
        if let Some((a, b)) = pairs[i] {
            return Some((a, b, lead + i));
        }
        i += 1;
    }
    None
}

macro_rules! broadcast_shapes {
    ([$($A:ident $ai:tt),*] [$($B:ident $bi:tt),*] lead_lhs [$($L:ident $li:tt),*] lead_rhs [$($R:ident $ri:tt),*] pairs [$($P:ident $pa:tt $Q:ident $pb:tt),*]) => {
        impl<$($A: Dim,)* $($B: Dim,)*> BroadcastShapes<($($B,)*)> for ($($A,)*)
        where $($P: DimBroadcast<$Q>,)*
        {
            type Output = ($($L,)* $($R,)* $(<$P as DimBroadcast<$Q>>::Broadcast,)*);
            const STATIC_MISMATCH: Option<(usize, usize, usize)> = first_mismatch(
                &[$(<$P as DimBroadcast<$Q>>::BROADCAST_MISMATCH,)*],
                <[()]>::len(&[$(broadcast_shapes!(@unit $li),)* $(broadcast_shapes!(@unit $ri),)*]),
            );
            #[allow(unused_variables)]
            fn broadcast_shapes(&self, rhs: &($($B,)*)) -> Result<Self::Output> {
                let out = || -> Result<Self::Output> {
                    Ok(($(self.$li,)* $(rhs.$ri,)* $(self.$pa.broadcast(rhs.$pb)?,)*))
                };
                out().map_err(|e| shapes_error("broadcast", &self.dims(), &rhs.dims(), e))
            }
        }
    };
    (@unit $i:tt) => { () };
}

broadcast_shapes!([] [] lead_lhs [] lead_rhs [] pairs []);
broadcast_shapes!([] [B0 0] lead_lhs [] lead_rhs [B0 0] pairs []);
broadcast_shapes!([] [B0 0, B1 1] lead_lhs [] lead_rhs [B0 0, B1 1] pairs []);
broadcast_shapes!([] [B0 0, B1 1, B2 2] lead_lhs [] lead_rhs [B0 0, B1 1, B2 2] pairs []);
broadcast_shapes!([] [B0 0, B1 1, B2 2, B3 3] lead_lhs [] lead_rhs [B0 0, B1 1, B2 2, B3 3] pairs []);
broadcast_shapes!([] [B0 0, B1 1, B2 2, B3 3, B4 4] lead_lhs [] lead_rhs [B0 0, B1 1, B2 2, B3 3, B4 4] pairs []);
broadcast_shapes!([] [B0 0, B1 1, B2 2, B3 3, B4 4, B5 5] lead_lhs [] lead_rhs [B0 0, B1 1, B2 2, B3 3, B4 4, B5 5] pairs []);
broadcast_shapes!([A0 0] [] lead_lhs [A0 0] lead_rhs [] pairs []);
broadcast_shapes!([A0 0] [B0 0] lead_lhs [] lead_rhs [] pairs [A0 0 B0 0]);
broadcast_shapes!([A0 0] [B0 0, B1 1] lead_lhs [] lead_rhs [B0 0] pairs [A0 0 B1 1]);
broadcast_shapes!([A0 0] [B0 0, B1 1, B2 2] lead_lhs [] lead_rhs [B0 0, B1 1] pairs [A0 0 B2 2]);
broadcast_shapes!([A0 0] [B0 0, B1 1, B2 2, B3 3] lead_lhs [] lead_rhs [B0 0, B1 1, B2 2] pairs [A0 0 B3 3]);
broadcast_shapes!([A0 0] [B0 0, B1 1, B2 2, B3 3, B4 4] lead_lhs [] lead_rhs [B0 0, B1 1, B2 2, B3 3] pairs [A0 0 B4 4]);
broadcast_shapes!([A0 0] [B0 0, B1 1, B2 2, B3 3, B4 4, B5 5] lead_lhs [] lead_rhs [B0 0, B1 1, B2 2, B3 3, B4 4] pairs [A0 0 B5 5]);
broadcast_shapes!([A0 0, A1 1] [] lead_lhs [A0 0, A1 1] lead_rhs [] pairs []);
broadcast_shapes!([A0 0, A1 1] [B0 0] lead_lhs [A0 0] lead_rhs [] pairs [A1 1 B0 0]);
broadcast_shapes!([A0 0, A1 1] [B0 0, B1 1] lead_lhs [] lead_rhs [] pairs [A0 0 B0 0, A1 1 B1 1]);
broadcast_shapes!([A0 0, A1 1] [B0 0, B1 1, B2 2] lead_lhs [] lead_rhs [B0 0] pairs [A0 0 B1 1, A1 1 B2 2]);
broadcast_shapes!([A0 0, A1 1] [B0 0, B1 1, B2 2, B3 3] lead_lhs [] lead_rhs [B0 0, B1 1] pairs [A0 0 B2 2, A1 1 B3 3]);
broadcast_shapes!([A0 0, A1 1] [B0 0, B1 1, B2 2, B3 3, B4 4] lead_lhs [] lead_rhs [B0 0, B1 1, B2 2] pairs [A0 0 B3 3, A1 1 B4 4]);
broadcast_shapes!([A0 0, A1 1] [B0 0, B1 1, B2 2, B3 3, B4 4, B5 5] lead_lhs [] lead_rhs [B0 0, B1 1, B2 2, B3 3] pairs [A0 0 B4 4, A1 1 B5 5]);
broadcast_shapes!([A0 0, A1 1, A2 2] [] lead_lhs [A0 0, A1 1, A2 2] lead_rhs [] pairs []);
broadcast_shapes!([A0 0, A1 1, A2 2] [B0 0] lead_lhs [A0 0, A1 1] lead_rhs [] pairs [A2 2 B0 0]);
broadcast_shapes!([A0 0, A1 1, A2 2] [B0 0, B1 1] lead_lhs [A0 0] lead_rhs [] pairs [A1 1 B0 0, A2 2 B1 1]);
broadcast_shapes!([A0 0, A1 1, A2 2] [B0 0, B1 1, B2 2] lead_lhs [] lead_rhs [] pairs [A0 0 B0 0, A1 1 B1 1, A2 2 B2 2]);
broadcast_shapes!([A0 0, A1 1, A2 2] [B0 0, B1 1, B2 2, B3 3] lead_lhs [] lead_rhs [B0 0] pairs [A0 0 B1 1, A1 1 B2 2, A2 2 B3 3]);
broadcast_shapes!([A0 0, A1 1, A2 2] [B0 0, B1 1, B2 2, B3 3, B4 4] lead_lhs [] lead_rhs [B0 0, B1 1] pairs [A0 0 B2 2, A1 1 B3 3, A2 2 B4 4]);
broadcast_shapes!([A0 0, A1 1, A2 2] [B0 0, B1 1, B2 2, B3 3, B4 4, B5 5] lead_lhs [] lead_rhs [B0 0, B1 1, B2 2] pairs [A0 0 B3 3, A1 1 B4 4, A2 2 B5 5]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3] [] lead_lhs [A0 0, A1 1, A2 2, A3 3] lead_rhs [] pairs []);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3] [B0 0] lead_lhs [A0 0, A1 1, A2 2] lead_rhs [] pairs [A3 3 B0 0]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3] [B0 0, B1 1] lead_lhs [A0 0, A1 1] lead_rhs [] pairs [A2 2 B0 0, A3 3 B1 1]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3] [B0 0, B1 1, B2 2] lead_lhs [A0 0] lead_rhs [] pairs [A1 1 B0 0, A2 2 B1 1, A3 3 B2 2]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3] [B0 0, B1 1, B2 2, B3 3] lead_lhs [] lead_rhs [] pairs [A0 0 B0 0, A1 1 B1 1, A2 2 B2 2, A3 3 B3 3]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3] [B0 0, B1 1, B2 2, B3 3, B4 4] lead_lhs [] lead_rhs [B0 0] pairs [A0 0 B1 1, A1 1 B2 2, A2 2 B3 3, A3 3 B4 4]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3] [B0 0, B1 1, B2 2, B3 3, B4 4, B5 5] lead_lhs [] lead_rhs [B0 0, B1 1] pairs [A0 0 B2 2, A1 1 B3 3, A2 2 B4 4, A3 3 B5 5]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4] [] lead_lhs [A0 0, A1 1, A2 2, A3 3, A4 4] lead_rhs [] pairs []);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4] [B0 0] lead_lhs [A0 0, A1 1, A2 2, A3 3] lead_rhs [] pairs [A4 4 B0 0]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4] [B0 0, B1 1] lead_lhs [A0 0, A1 1, A2 2] lead_rhs [] pairs [A3 3 B0 0, A4 4 B1 1]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4] [B0 0, B1 1, B2 2] lead_lhs [A0 0, A1 1] lead_rhs [] pairs [A2 2 B0 0, A3 3 B1 1, A4 4 B2 2]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4] [B0 0, B1 1, B2 2, B3 3] lead_lhs [A0 0] lead_rhs [] pairs [A1 1 B0 0, A2 2 B1 1, A3 3 B2 2, A4 4 B3 3]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4] [B0 0, B1 1, B2 2, B3 3, B4 4] lead_lhs [] lead_rhs [] pairs [A0 0 B0 0, A1 1 B1 1, A2 2 B2 2, A3 3 B3 3, A4 4 B4 4]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4] [B0 0, B1 1, B2 2, B3 3, B4 4, B5 5] lead_lhs [] lead_rhs [B0 0] pairs [A0 0 B1 1, A1 1 B2 2, A2 2 B3 3, A3 3 B4 4, A4 4 B5 5]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] [] lead_lhs [A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] lead_rhs [] pairs []);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] [B0 0] lead_lhs [A0 0, A1 1, A2 2, A3 3, A4 4] lead_rhs [] pairs [A5 5 B0 0]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] [B0 0, B1 1] lead_lhs [A0 0, A1 1, A2 2, A3 3] lead_rhs [] pairs [A4 4 B0 0, A5 5 B1 1]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] [B0 0, B1 1, B2 2] lead_lhs [A0 0, A1 1, A2 2] lead_rhs [] pairs [A3 3 B0 0, A4 4 B1 1, A5 5 B2 2]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] [B0 0, B1 1, B2 2, B3 3] lead_lhs [A0 0, A1 1] lead_rhs [] pairs [A2 2 B0 0, A3 3 B1 1, A4 4 B2 2, A5 5 B3 3]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] [B0 0, B1 1, B2 2, B3 3, B4 4] lead_lhs [A0 0] lead_rhs [] pairs [A1 1 B0 0, A2 2 B1 1, A3 3 B2 2, A4 4 B3 3, A5 5 B4 4]);
broadcast_shapes!([A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] [B0 0, B1 1, B2 2, B3 3, B4 4, B5 5] lead_lhs [] lead_rhs [] pairs [A0 0 B0 0, A1 1 B1 1, A2 2 B2 2, A3 3 B3 3, A4 4 B4 4, A5 5 B5 5]);
