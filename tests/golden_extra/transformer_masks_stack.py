"""Extra PyTorch reference for shaped's transformer layers (tests/golden_transformer.rs):
cases the golden set does not cover. Run with PyTorch 2.15 (CPU) inside this folder; the
output is byte-for-byte reproducible.

* `dec.*`: TransformerDecoderLayer(8, 2, 12, dropout=0, gelu, norm_first=True,
  layer_norm_eps=1e-6) with a causal tgt_mask, a float memory_mask and boolean key padding
  masks for target and memory; y, gy and the gradients of tgt, memory and every parameter.
* `enc.*`: TransformerEncoder(2 x post-norm relu layer (8, 2, 12), norm=LayerNorm(8)) with a
  causal mask and a boolean src_key_padding_mask; y, gy, gradients of x and every parameter.

Computed in float64, stored as float32.
"""
import torch
from safetensors.torch import save_file
torch.manual_seed(0)
t = {}
D,H,F = 8,2,12
# decoder layer, pre-norm, gelu, with all masks
dec = torch.nn.TransformerDecoderLayer(D,H,F,dropout=0.0,activation="gelu",batch_first=True,norm_first=True,layer_norm_eps=1e-6).double()
with torch.no_grad():
    for n,p in dec.named_parameters(): p.add_(0.1*torch.randn_like(p))
tgt = torch.randn(2,4,D,dtype=torch.float64,requires_grad=True)
mem = torch.randn(2,5,D,dtype=torch.float64,requires_grad=True)
tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(4,dtype=torch.float64)
mem_mask = torch.zeros(4,5,dtype=torch.float64); mem_mask[0,3]=float('-inf'); mem_mask[2,1]=float('-inf')
tkpm = torch.tensor([[False,False,False,False],[False,False,False,True]])
mkpm = torch.tensor([[False,False,False,True,True],[False,False,False,False,False]])
y = dec(tgt,mem,tgt_mask=tgt_mask,memory_mask=mem_mask,tgt_key_padding_mask=tkpm,memory_key_padding_mask=mkpm)
gy = torch.randn_like(y)
(y*gy).sum().backward()
for n,p in dec.named_parameters():
    t["dec."+n]=p.detach().float(); t["dec.grad."+n]=p.grad.float()
t["dec.tgt"]=tgt.detach().float(); t["dec.mem"]=mem.detach().float(); t["dec.mem_mask"]=mem_mask.float()
t["dec.y"]=y.detach().float(); t["dec.gy"]=gy.float(); t["dec.grad.tgt"]=tgt.grad.float(); t["dec.grad.mem"]=mem.grad.float()
# encoder stack, 2 layers + norm, post-norm relu, key padding
layer = torch.nn.TransformerEncoderLayer(D,H,F,dropout=0.0,batch_first=True)
enc = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(D), enable_nested_tensor=False).double()
with torch.no_grad():
    for n,p in enc.named_parameters(): p.add_(0.1*torch.randn_like(p))
x = torch.randn(2,4,D,dtype=torch.float64,requires_grad=True)
kpm = torch.tensor([[False,False,True,True],[False,False,False,False]])
y = enc(x, mask=torch.nn.Transformer.generate_square_subsequent_mask(4,dtype=torch.float64), src_key_padding_mask=kpm)
gy = torch.randn_like(y)
(y*gy).sum().backward()
for n,p in enc.named_parameters():
    t["enc."+n]=p.detach().float(); t["enc.grad."+n]=p.grad.float()
t["enc.x"]=x.detach().float(); t["enc.y"]=y.detach().float(); t["enc.gy"]=gy.float(); t["enc.grad.x"]=x.grad.float()
t = {k:v.contiguous() for k,v in t.items()}
save_file(t, "transformer_masks_stack.safetensors")
print(len(t), [n for n,_ in enc.named_parameters()][:3], [n for n,_ in enc.named_parameters()][-2:])
