// Cosine similarity and the cosine embedding loss of rows of 4 features against rows of 4.
use shaped::nn::loss::cosine_embedding_loss;
use shaped::ops::distance::cosine_similarity;
use shaped::prelude::*;

fn main() {
    let x1 = Tensor::<Rank2<3, 4>>::ones();
    let x2 = Tensor::<Rank2<3, 4>>::ones();
    let cos: Tensor<Rank1<3>> = cosine_similarity(x1.clone(), x2.clone(), 1e-8);
    assert!(cos.to_vec().iter().all(|&c| (c - 1.0).abs() < 1e-6));
    let loss = cosine_embedding_loss(x1, x2, &Tensor::<Rank1<3>>::ones());
    assert!(loss.to_vec()[0].abs() < 1e-6);
}
