// Cosine similarity and the cosine embedding loss of rows of 4 features against rows of 5.
use shaped::nn::loss::cosine_embedding_loss;
use shaped::ops::distance::cosine_similarity;
use shaped::prelude::*;

fn main() {
    let x1 = Tensor::<Rank2<3, 4>>::zeros();
    let x2 = Tensor::<Rank2<3, 5>>::zeros();
    let _cos = cosine_similarity(x1.clone(), x2.clone(), 1e-8);
    let _loss = cosine_embedding_loss(x1, x2, &Tensor::<Rank1<3>>::ones());
}
