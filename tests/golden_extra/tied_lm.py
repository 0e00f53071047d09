"""PyTorch reference for shaped's tied parameters (tests/tied_parameters.rs): a word language
model as PyTorch's examples/word_language_model with `--tied` (Embedding(10, 8) ->
LSTM(8, 8, batch_first=True) -> Linear(8, 10) whose weight IS the embedding's), saved the two
ways PyTorch users save it. Run with PyTorch 2.15 (CPU) and safetensors 0.8 inside this
folder; the output is byte-for-byte reproducible.

* `tied_lm_save_model.safetensors`: `safetensors.torch.save_model(model, path)`, which keeps
  one name of a shared tensor: `decoder.weight` (no `encoder.weight`);
  `safetensors.torch.load_model(model, path, strict=True)` accepts it.
* `tied_lm_state_dict.safetensors`: `save_file({k: v.clone() for k, v in
  model.state_dict().items()})`, both names with equal values (`save_file` refuses the
  shared tensor itself); `model.load_state_dict(load_file(path), strict=True)` accepts it.
* `tied_lm_io.safetensors`: `tokens` (2, 5) stored as float32, and the model's `logits`
  (2, 5, 10) for them.
"""
import torch
from safetensors.torch import save_file, save_model, load_file, load_model

torch.manual_seed(0)


class TiedLm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Embedding(10, 8)
        self.rnn = torch.nn.LSTM(8, 8, batch_first=True)
        self.decoder = torch.nn.Linear(8, 10)
        self.decoder.weight = self.encoder.weight

    def forward(self, tokens):
        out, _ = self.rnn(self.encoder(tokens))
        return self.decoder(out)


model = TiedLm()
save_model(model, "tied_lm_save_model.safetensors")
save_file({k: v.clone() for k, v in model.state_dict().items()}, "tied_lm_state_dict.safetensors")
tokens = torch.randint(0, 10, (2, 5))
with torch.no_grad():
    logits = model(tokens)
save_file({"tokens": tokens.float(), "logits": logits.contiguous()}, "tied_lm_io.safetensors")

# Both files load back strictly into a fresh model.
check = TiedLm()
load_model(check, "tied_lm_save_model.safetensors", strict=True)
check.load_state_dict(load_file("tied_lm_state_dict.safetensors"), strict=True)
with torch.no_grad():
    assert torch.equal(check(tokens), logits), (check(tokens) - logits).abs().max()
