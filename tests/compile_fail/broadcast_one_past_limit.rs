// `+` on (1, 2000) and (3, 2000) is fine, but on (3, 1) and (3, 2000) the size-1 side meets a
// dimension past `MAX_BROADCAST_ONE` (1024), where broadcasting by type alone stops: the
// message names the dimension and the way out (`broadcast_to`).
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<3, 1>>::ones();
    let b = Tensor::<Rank2<3, 2000>>::ones();
    let _c = a + b;
}
