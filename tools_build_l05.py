"""Builds lessons/05_modern_conv_layers.ipynb from the cell texts below (run once, then execute the notebook)."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = []


def md(text):
    CELLS.append(new_markdown_cell(text.strip("\n")))


def code(text):
    CELLS.append(new_code_cell(text.strip("\n")))


md(r"""
# Lesson 05 — Modern conv layers: 1×1, grouped, depthwise, transposed, and the block around them

Lesson 04's network is conv → conv → pool → dense: the design of 1998–2014. The networks built since are made of the
same local windows and shared weights, arranged differently. By the end of this lesson you can

- explain a **1×1 convolution** as a dense layer applied at every pixel, and count what a **bottleneck** saves;
- count and compare **grouped** and **depthwise-separable** convolutions (ResNeXt, MobileNet), and say exactly what a
  depthwise-separable layer can and cannot express;
- compute the output size of a **transposed convolution**, explain why it is the gradient of a convolution, and
  recognise the **checkerboard** it can draw on an image;
- say what **batch normalisation** computes in training and at inference, and measure what it does to activations and training;
- build **residual** blocks with identity and projection shortcuts, and replace flatten + dense by **global average pooling**;
- train a small modern network on MNIST that matches lesson 04's CNN with far fewer parameters and multiply-adds.

Every count below comes from `course_lib.shapes`, every layer from `course_lib.ops` (checked against PyTorch), and every
claim about training is measured in this notebook. Prerequisites: lessons 02 and 04.
""")

code(r"""
%matplotlib inline
import time

import numpy as np
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import data, ops, shapes, train
from course_lib.nn import counting, models, modern
from course_lib.viz.training import plot_history
from course_lib.widgets.quiz import Quiz, MultipleChoice, Numeric

torch.set_num_threads(1)   # robust on busy or 2-core machines; delete this line to use every idle core
train.seed_everything(0)
np.set_printoptions(precision=3, suppress=True)
rng = np.random.default_rng(0)

# The recipe of lesson 04 (benchmarks/bench_training.py): both networks below train with exactly these settings.
FIT = dict(epochs=7, lr=2e-3, batch_size=64, optimizer="adamw", weight_decay=1e-4,
           scheduler="onecycle", augment="shift", label_smoothing=0.1, seed=0)
MODERN_FIT = dict(FIT, lr=1e-2)     # a net with BatchNorm everywhere tolerates a larger learning rate


def macs(spec):
    "Multiply-adds of a layer spec or list of specs (the convention of torchvision's tables and most papers)."
    return shapes.flop_count(spec, unit="mac")
""")

# ----------------------------------------------------------------------------------------------- 1x1
md(r"""
## 1. The 1×1 convolution: a dense layer at every pixel

A 1×1 kernel sees one pixel — but all $C_\text{in}$ channels of it. Its output at pixel $(i, j)$ is

$$y_{o}(i, j) = b_o + \sum_{c=1}^{C_\text{in}} W_{o,c}\, x_c(i, j),$$

which is exactly a dense layer $C_\text{in} \to C_\text{out}$ applied to the channel vector of each pixel, with the same weights at
every pixel. It mixes channels and never looks at neighbours. Check it: the same weights as a 1×1 conv and as a dense layer
applied pixel by pixel.
""")

code(r"""
x = rng.standard_normal((2, 16, 7, 7))                 # (N, C_in, H, W)
w = rng.standard_normal((8, 16, 1, 1))                 # (C_out, C_in, 1, 1)
b = rng.standard_normal(8)

as_conv = ops.conv2d(x, w, b)                                     # (2, 8, 7, 7)
pixels = x.transpose(0, 2, 3, 1).reshape(-1, 16)                  # one row per pixel: (N*H*W, C_in)
as_dense = (pixels @ w[:, :, 0, 0].T + b).reshape(2, 7, 7, 8).transpose(0, 3, 1, 2)
print("1x1 conv == dense layer on every pixel:", np.allclose(as_conv, as_dense))
""")

md(r"""
**Bottlenecks.** Because a 1×1 conv is cheap, it is used to shrink the channels before an expensive 3×3 conv and to
grow them back after it. ResNet-50's block on 256 channels does 1×1 (256 → 64), 3×3 (64 → 64), 1×1 (64 → 256) instead of
one 3×3 (256 → 256). On a 56×56 map (where ResNet-50's first stage works):
""")

code(r"""
H = W_ = 56
plain = [{"kind": "conv", "c_in": 256, "c_out": 256, "kernel": (3, 3), "output_size": (H, W_), "bias": False}]
bottleneck = [{"kind": "conv", "c_in": 256, "c_out": 64, "kernel": (1, 1), "output_size": (H, W_), "bias": False},
              {"kind": "conv", "c_in": 64, "c_out": 64, "kernel": (3, 3), "output_size": (H, W_), "bias": False},
              {"kind": "conv", "c_in": 64, "c_out": 256, "kernel": (1, 1), "output_size": (H, W_), "bias": False}]

rows = [("one 3×3, 256 → 256", plain), ("1×1 → 3×3 → 1×1 bottleneck", bottleneck)]
print(f"{'design':<28}{'parameters':>12}{'multiply-adds':>16}")
for name, spec in rows:
    print(f"{name:<28}{shapes.param_count(spec):>12,}{macs(spec):>16,}")
saving = shapes.param_count(plain) / shapes.param_count(bottleneck)
print(f"the bottleneck is {saving:.1f}x cheaper in both (same map size, so the two ratios agree)")
""")

md(r"""
The bottleneck also adds two non-linearities. What it gives up: the 3×3 conv now sees only 64 mixtures of the 256
channels. That it works as well is an empirical finding of the ResNet paper, not a theorem.
""")

# ----------------------------------------------------------------------------------------------- groups
md(r"""
## 2. Grouped and depthwise-separable convolutions

With `groups = g`, the input channels are cut into $g$ groups of $C_\text{in}/g$, the output channels into $g$ groups of
$C_\text{out}/g$, and output group $k$ only reads input group $k$. The weight has shape $(C_\text{out}, C_\text{in}/g, K_H, K_W)$ —
the second axis is the channels *one group* sees — so parameters and multiply-adds both drop by a factor $g$.
A grouped conv is $g$ ordinary convs side by side:
""")

code(r"""
x = rng.standard_normal((2, 8, 9, 9))                  # C_in = 8
w = rng.standard_normal((6, 4, 3, 3))                  # C_out = 6, groups = 2: each output sees 8 / 2 = 4 channels
grouped = ops.conv2d(x, w, groups=2)
side_by_side = np.concatenate([ops.conv2d(x[:, :4], w[:3]),       # group 1: channels 0-3 -> outputs 0-2
                               ops.conv2d(x[:, 4:], w[3:])], axis=1)  # group 2: channels 4-7 -> outputs 3-5
print("weight shape (C_out, C_in // groups, 3, 3):", w.shape)
print("groups=2 conv == two convs side by side:", np.allclose(grouped, side_by_side))
print("agrees with PyTorch:", np.allclose(grouped, F.conv2d(torch.tensor(x), torch.tensor(w), groups=2).numpy()))
""")

md(r"""
**Depthwise** is the extreme `groups = C_in`: one 3×3 filter per channel, no mixing at all. **Depthwise-separable**
(MobileNet, Xception) follows it with a 1×1 **pointwise** conv that does all the mixing. ResNeXt takes the middle road:
groups of 4–32 channels inside a bottleneck. Counts for 256 → 256 channels, 3×3, on a 56×56 map:
""")

code(r"""
def conv_spec(c_in, c_out, k, groups=1, size=56):
    return {"kind": "conv", "c_in": c_in, "c_out": c_out, "kernel": (k, k), "groups": groups,
            "output_size": (size, size), "bias": False}

designs = {
    "full 3×3": [conv_spec(256, 256, 3)],
    "grouped 3×3, g=32 (ResNeXt)": [conv_spec(256, 256, 3, groups=32)],
    "depthwise 3×3 + pointwise 1×1": [conv_spec(256, 256, 3, groups=256), conv_spec(256, 256, 1)],
}
full = shapes.param_count(designs["full 3×3"])
print(f"{'design':<32}{'parameters':>12}{'multiply-adds':>16}{'vs full':>10}")
for name, spec in designs.items():
    print(f"{name:<32}{shapes.param_count(spec):>12,}{macs(spec):>16,}{full / shapes.param_count(spec):>9.1f}x")
""")

md(r"""
The saving of depthwise-separable over full is $\dfrac{9C_\text{in}C_\text{out}}{9C_\text{in} + C_\text{in}C_\text{out}}
= \dfrac{1}{1/C_\text{out} + 1/9}$: close to 9× (the kernel area) once $C_\text{out}$ is large.

**What it cannot express.** Write the two steps as one conv. Depthwise filter $D_c$ (3×3) per input channel, then pointwise
weights $P_{o,c}$: output $o$ is $\sum_c P_{o,c}\,(D_c \star x_c)$, i.e. one full conv whose kernel is
$W_{o,c} = P_{o,c}\,D_c$. So a depthwise-separable layer is exactly a full conv in which, for every input channel $c$, all
$C_\text{out}$ kernels are *multiples of one 3×3 pattern*: the $C_\text{out}\times 9$ matrix $[W_{o,c}]_o$ has rank 1. First the
equality, then the measurement: how much of a random full kernel that rank-1 structure can capture.
""")

code(r"""
c_in, c_out = 8, 16
D = rng.standard_normal((c_in, 1, 3, 3))                # depthwise: (C_in, 1, 3, 3), groups = C_in
P = rng.standard_normal((c_out, c_in, 1, 1))            # pointwise: (C_out, C_in, 1, 1)
x = rng.standard_normal((2, c_in, 12, 12))
two_steps = ops.conv2d(ops.conv2d(x, D, groups=c_in), P)
W_equiv = P[:, :, 0, 0, None, None] * D[None, :, 0]     # W[o, c] = P[o, c] * D[c]: (C_out, C_in, 3, 3)
print("depthwise then pointwise == one conv with W[o,c] = P[o,c]·D[c]:", np.allclose(two_steps, ops.conv2d(x, W_equiv)))


def rank1_share(weight):
    "Per input channel: the share of the kernels' energy (squared norm) that the best rank-1 pattern captures."
    shares = []
    for c in range(weight.shape[1]):
        s = np.linalg.svd(weight[:, c].reshape(weight.shape[0], -1), compute_uv=False)
        shares.append(s[0] ** 2 / np.sum(s ** 2))
    return np.array(shares)


W_full = rng.standard_normal((c_out, c_in, 3, 3))
print("separable kernel, energy in the rank-1 part per channel:", rank1_share(W_equiv).round(3))
print("random full kernel:                                     ", rank1_share(W_full).round(3))

fig, ax = plt.subplots(figsize=(7, 2.8))
ax.bar(np.arange(c_in) - 0.2, rank1_share(W_equiv), width=0.4, label="depthwise × pointwise", color="0.35")
ax.bar(np.arange(c_in) + 0.2, rank1_share(W_full), width=0.4, label="random full 3×3 conv", color="0.75",
       edgecolor="black", hatch="//")
ax.set_xlabel("input channel c"); ax.set_ylabel("energy in best rank-1 part")
ax.set_xticks(range(c_in)); ax.set_ylim(0, 1.05); ax.legend(loc="center right", fontsize=8)
ax.set_title("A depthwise-separable conv is a full conv with rank-1 kernels per input channel")
plt.show()
""")

md(r"""
A random full kernel keeps only a fraction of its energy in a rank-1 structure, so no depthwise-separable layer with the
same channels reproduces it. Networks make up for the restriction with more channels and more layers — the measured
trade in section 5.
""")

# ----------------------------------------------------------------------------------------------- transposed
md(r"""
## 3. Transposed convolution: upsampling, and the gradient of a conv

A convolution with stride 2 halves a map. Segmentation, super-resolution and generators need the opposite: a learned
layer that *enlarges* a map. The transposed convolution does it by **stamping**: every input value multiplies the whole
kernel, and that scaled kernel is added into the output at the value's position times the stride. Where stamps overlap they add.
""")

code(r"""
x_small = np.array([[[[1.0, 2.0], [3.0, -1.0]]]])       # (1, 1, 2, 2)
kernel = np.array([[[[0.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 0.0]]]])   # (C_in=1, C_out=1, 3, 3)
up = ops.conv_transpose2d(x_small, kernel, stride=2)    # (1, 1, 5, 5)

fig, axes = plt.subplots(1, 5, figsize=(13, 2.8))
for ax, (i, j) in zip(axes, [(0, 0), (0, 1), (1, 0), (1, 1)]):
    stamp = np.zeros((5, 5))
    stamp[2 * i:2 * i + 3, 2 * j:2 * j + 3] = x_small[0, 0, i, j] * kernel[0, 0]
    ax.imshow(stamp, cmap="RdBu_r", vmin=-6, vmax=6)
    ax.set_title(f"x[{i},{j}] = {x_small[0, 0, i, j]:+.0f} stamps\nat ({2 * i}, {2 * j})", fontsize=9)
axes[4].imshow(up[0, 0], cmap="RdBu_r", vmin=-6, vmax=6)
axes[4].set_title("sum = conv_transpose2d\n(overlaps add)", fontsize=9)
for ax in axes:
    ax.set_xticks(range(5)); ax.set_yticks(range(5))
    for (r, c), v in np.ndenumerate(ax.images[0].get_array()):
        ax.text(c, r, f"{v + 0.0:g}", ha="center", va="center", fontsize=7)
plt.show()
print("agrees with PyTorch:", np.allclose(up, F.conv_transpose2d(torch.tensor(x_small), torch.tensor(kernel), stride=2).numpy()))
""")

md(r"""
**Output size** (Dumoulin & Visin, *A guide to convolution arithmetic for deep learning*, 2016). A conv maps size $o$ to
$i = \lfloor (o + 2p - d(k-1) - 1)/s \rfloor + 1$; the transposed conv with the same settings goes back:

$$o = (i - 1)\,s - 2p + d\,(k - 1) + \text{output\_padding} + 1 .$$

With stride $s > 1$ several sizes $o$ give the same $i$ (the floor forgets the remainder); `output_padding`
$\in [0, \max(s, d))$ picks which one. The usual "double the size" settings are $k = 4, s = 2, p = 1$ or
$k = 3, s = 2, p = 1$ with `output_padding=1`:
""")

code(r"""
cases = [dict(kernel=3, stride=1, padding=1), dict(kernel=4, stride=2, padding=1),
         dict(kernel=3, stride=2, padding=1, output_padding=1), dict(kernel=3, stride=2, padding=0),
         dict(kernel=2, stride=2, padding=0)]
i = 14
print(f"{'settings':<52}{'formula':>8}{'ops':>6}{'torch':>7}")
for case in cases:
    k = case["kernel"]
    geometry = {name: value for name, value in case.items() if name != "kernel"}
    w_t = np.ones((1, 1, k, k))
    ours = ops.conv_transpose2d(np.ones((1, 1, i, i)), w_t, **geometry).shape[-1]
    theirs = F.conv_transpose2d(torch.ones(1, 1, i, i, dtype=torch.float64), torch.tensor(w_t), **geometry).shape[-1]
    print(f"{str(case):<52}{shapes.conv_transpose_output_size(i, **case):>8}{ours:>6}{theirs:>7}")
""")

md(r"""
**Why it is called *transposed*.** Lesson 02 wrote a convolution as a matrix $C$ acting on the flattened input: $y = Cx$.
The backward pass needs $\partial L/\partial x = C^\top\, \partial L/\partial y$: multiply by the *transpose*. Applying
$C^\top$ is exactly the stamping above — each output gradient stamps the kernel back onto the inputs it came from. So the
transposed convolution with the conv's own weights *is* the input gradient of that conv (the weight layouts read
$(C_\text{in}, C_\text{out}, \dots)$ for one and $(C_\text{out}, C_\text{in}, \dots)$ for the other: the same array).
""")

code(r"""
x = rng.standard_normal((2, 3, 12, 12))
w = rng.standard_normal((5, 3, 3, 3))                  # conv: 3 -> 5 channels
geometry = dict(stride=2, padding=1)
y = ops.conv2d(x, w, **geometry)                        # (2, 5, 6, 6): floor((12 + 2 - 3) / 2) + 1 = 6
dy = rng.standard_normal(y.shape)
dx, dw, db = ops.conv2d_backward(dy, x, w, **geometry)
out_pad = x.shape[-1] - shapes.conv_transpose_output_size(y.shape[-1], 3, **geometry)   # recover the size the floor lost
dx_transposed = ops.conv_transpose2d(dy, w, output_padding=out_pad, **geometry)          # w read as (C_in=5, C_out=3, 3, 3)
print("output_padding needed to get back to 12:", out_pad)
print("conv_transpose2d(dy, w) == input gradient of conv2d(x, w):", np.allclose(dx_transposed, dx))
""")

md(r"""
**The checkerboard.** When the kernel size is not a multiple of the stride, stamps overlap unevenly: with $k=3, s=2$ every
other output row and column receives two stamps, the rest one. Even a constant input comes out striped, and a learned
upsampler has to fight that pattern (Odena, Dumoulin & Olah, *Deconvolution and Checkerboard Artifacts*, Distill 2016).
With $k = 4, s = 2$ every inner output gets exactly two stamps. Below, a photograph (one of the sample images scikit-learn
ships) is halved, then doubled back with two transposed convs whose kernels are smooth "tent" filters.
""")

code(r"""
from sklearn.datasets import load_sample_image

photo = load_sample_image("china.jpg").mean(axis=2) / 255.0      # (427, 640) grey values in [0, 1]
crop = photo[60:316:2, 180:436:2]                                 # (128, 128): the temple roofs and the lake
small = crop[None, None, ::2, ::2]                                # (1, 1, 64, 64): halved


def tent(k):
    "A separable triangle filter of size k, scaled so that stamps with stride 2 average to 1 (bilinear when k = 4)."
    t = 1.0 - np.abs(np.arange(k) - (k - 1) / 2) / (k / 2)
    t2 = np.outer(t, t)
    return (t2 / t2.sum() * 4)[None, None]                        # (C_in=1, C_out=1, k, k)


up3 = ops.conv_transpose2d(small, tent(3), stride=2, padding=1, output_padding=1)[0, 0]   # (128, 128)
up4 = ops.conv_transpose2d(small, tent(4), stride=2, padding=1)[0, 0]                    # (128, 128)
flat3 = ops.conv_transpose2d(np.ones((1, 1, 8, 8)), tent(3), stride=2, padding=1, output_padding=1)[0, 0]
flat4 = ops.conv_transpose2d(np.ones((1, 1, 8, 8)), tent(4), stride=2, padding=1)[0, 0]

fig, axes = plt.subplots(1, 5, figsize=(15, 3.4))
panels = [(crop, "original crop (128×128)"), (small[0, 0], "halved (64×64)"),
          (up3, "×2 with k=3, s=2: checkerboard"), (up4, "×2 with k=4, s=2: smooth"),
          (flat3[2:-2, 2:-2], "k=3, s=2 on a constant input")]
for ax, (image, title) in zip(axes, panels):
    ax.imshow(image, cmap="gray", vmin=0, vmax=max(1.0, float(image.max())))
    ax.set_title(title, fontsize=9); ax.axis("off")
plt.show()
inner = (slice(2, -2), slice(2, -2))
print("k=3: a constant input comes out with values", np.unique(flat3[inner].round(3)))
print("k=4: a constant input stays constant inside:", np.allclose(flat4[inner], flat4[inner][0, 0]))
""")

md(r"""
Zoom in on the third panel: a fine grid of darker and lighter rows and columns — the constant-input values show why.
The cures in practice: a kernel size divisible by the stride, or "resize then convolve" (nearest or bilinear upsampling
followed by an ordinary conv), which cannot overlap unevenly.
""")

# ----------------------------------------------------------------------------------------------- BN
md(r"""
## 4. The block around the layer

### 4.1 Batch normalisation

For each channel $c$, over the batch and all positions ($N \cdot H \cdot W$ values), batch norm computes the mean
$\mu_c$ and the (biased) variance $\sigma_c^2$, normalises and then rescales with two learned parameters per channel:

$$\hat x = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \varepsilon}}, \qquad y = \gamma_c\, \hat x + \beta_c .$$

- **Training mode** uses the batch's own $\mu_c, \sigma_c^2$, and updates running averages:
  $\text{running} \leftarrow (1 - m)\,\text{running} + m \cdot \text{batch statistic}$ with momentum $m = 0.1$; the running
  variance uses the *unbiased* batch variance (divide by $n - 1$).
- **Evaluation mode** uses the running averages, so one example's output no longer depends on the rest of its batch.
""")

code(r"""
x = rng.normal(loc=3.0, scale=2.5, size=(16, 4, 6, 6))     # (N, C, H, W): far from zero mean, unit variance
gamma, beta = np.ones(4), np.zeros(4)
running_mean, running_var = np.zeros(4), np.ones(4)

y = ops.batch_norm2d(x, gamma, beta, running_mean, running_var, training=True)
print("per-channel mean after BN:", y.mean(axis=(0, 2, 3)).round(6))
print("per-channel std after BN: ", y.std(axis=(0, 2, 3)).round(4))
print("running mean after one step (0.1 × batch mean):", running_mean.round(3))
n = x.shape[0] * x.shape[2] * x.shape[3]
expected_var = 0.9 * 1.0 + 0.1 * x.var(axis=(0, 2, 3)) * n / (n - 1)
print("running var uses the unbiased batch variance:", np.allclose(running_var, expected_var))

ref_mean, ref_var = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
ref = F.batch_norm(torch.tensor(x), ref_mean, ref_var, torch.tensor(gamma), torch.tensor(beta), training=True)
print("output and running statistics agree with PyTorch:",
      np.allclose(y, ref.numpy()) and np.allclose(running_mean, ref_mean.numpy()) and np.allclose(running_var, ref_var.numpy()))
""")

md(r"""
**Train vs eval, the bug to know.** Leave a model in training mode at inference and the prediction for one image
depends on which other images share its batch. Below, the same first example is normalised inside two different batches:
""")

code(r"""
batch_a, batch_b = x[:8], np.concatenate([x[:1], rng.normal(0.0, 1.0, size=(7, 4, 6, 6))])
train_a = ops.batch_norm2d(batch_a, gamma, beta, training=True)[0]
train_b = ops.batch_norm2d(batch_b, gamma, beta, training=True)[0]
eval_a = ops.batch_norm2d(batch_a, gamma, beta, running_mean, running_var, training=False)[0]
eval_b = ops.batch_norm2d(batch_b, gamma, beta, running_mean, running_var, training=False)[0]
print("training mode: example 0 gets the same output in both batches:", np.allclose(train_a, train_b))
print("eval mode:     example 0 gets the same output in both batches:", np.allclose(eval_a, eval_b))
""")

md(r"""
In PyTorch, `model.eval()` switches every `BatchNorm` to the running statistics (and turns dropout off); `model.train()`
switches back. `train.evaluate` calls `model.eval()` for you.

**What BN does to activations and to training.** The same plain 6-layer conv net, once without and once with BN after every
conv, at initialisation: the spread of the activations layer by layer, on a batch of real digits. Then both train for two
epochs on MNIST-5k.
""")

code(r"""
def plain_net(batch_norm, width=16, depth=6):
    "depth × (3×3 conv, [BN], ReLU) at 28×28 with stride 2 every other layer, then global average pooling and a dense layer."
    layers, c_in = [], 1
    for i in range(depth):
        layers += [nn.Conv2d(c_in, width, 3, stride=2 if i % 2 else 1, padding=1, bias=not batch_norm)]
        layers += [nn.BatchNorm2d(width)] if batch_norm else []
        layers += [nn.ReLU()]
        c_in = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))


x_train, y_train = data.load_mnist(split="train")
x_test, y_test = data.load_mnist(split="test")
probe = torch.as_tensor(x_train[:256])
spread = {}
for batch_norm in (False, True):
    torch.manual_seed(0)
    net = plain_net(batch_norm).train()
    h, stds = probe, []
    with torch.no_grad():
        for layer in net:
            h = layer(h)
            if isinstance(layer, nn.ReLU):
                stds.append(float(h.std()))
    spread["with BN" if batch_norm else "without BN"] = stds
for name, stds in spread.items():
    print(f"{name:<11} activation std per layer:", np.round(stds, 3))
""")

code(r"""
# NBVAL_IGNORE_OUTPUT
BN_FIT = dict(epochs=2, lr=3e-3, batch_size=64, optimizer="adam", seed=0)
bn_histories = {}
for batch_norm in (False, True):
    train.seed_everything(0)
    net = plain_net(batch_norm)
    bn_histories["with BN" if batch_norm else "without BN"] = train.fit(
        net, (x_train, y_train), (x_test, y_test), progress=False, **BN_FIT)
for name, history in bn_histories.items():
    print(f"{name:<11} held-out accuracy after each epoch:", np.round(history.val_acc, 3))
""")

code(r"""
without, with_bn = bn_histories["without BN"], bn_histories["with BN"]
print("without BN, the activations shrink with depth (last layer < half of the first):",
      spread["without BN"][-1] < 0.5 * spread["without BN"][0])
print("with BN, every layer's activations keep a similar spread (within 2x of each other):",
      max(spread["with BN"]) < 2 * min(spread["with BN"]))
print("BN trains faster: higher held-out accuracy after the first epoch:", with_bn.val_acc[0] > without.val_acc[0])

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2))
for (name, stds), style in zip(spread.items(), ("o--", "s-")):
    ax1.plot(range(1, len(stds) + 1), stds, style, color="black", label=name)
ax1.set_xlabel("layer"); ax1.set_ylabel("activation std at init"); ax1.set_yscale("log"); ax1.legend()
ax1.set_title("Activations through a plain 6-layer net")
for (name, history), style in zip(bn_histories.items(), ("o--", "s-")):
    ax2.plot(range(1, len(history.val_acc) + 1), history.val_acc, style, color="black", label=name)
ax2.set_xlabel("epoch"); ax2.set_ylabel("held-out accuracy"); ax2.set_xticks([1, 2]); ax2.legend()
ax2.set_title("Training speed on MNIST-5k")
plt.show()
""")

md(r"""
### 4.2 Residual connections

A residual block adds its input back: $y = \mathrm{ReLU}(x + F(x))$. The layers only learn a *correction* $F$, and in the
backward pass the gradient reaches earlier layers through the addition unchanged, whatever $F$ does to it. Two kinds of
shortcut:

- **identity**, when $F$ keeps the shape;
- **projection** (a 1×1 conv with the block's stride, then BN), when $F$ changes the number of channels or the map size,
  so the two branches can still be added.

`course_lib.nn.modern.SeparableBlock` builds both:
""")

code(r"""
same = modern.SeparableBlock(32, 32)
down = modern.SeparableBlock(32, 64, stride=2)
probe32 = torch.randn(2, 32, 14, 14)
print("identity shortcut:  ", type(same.shortcut).__name__, tuple(same(probe32).shape))
print("projection shortcut:", [type(m).__name__ for m in down.shortcut], tuple(down(probe32).shape))
""")

md(r"""
What the shortcut does to the backward pass, in miniature: a stack of 20 layers (3×3 conv → ReLU, no normalisation, PyTorch's
default initialisation), with and without identity shortcuts. How large is the weight gradient of layer 1 compared with layer 20?
""")

code(r"""
class Stack(nn.Module):
    "depth × (3×3 conv -> ReLU), optionally each wrapped as x + layer(x). x: (N, 16, H, W) -> (N, 16, H, W)."

    def __init__(self, depth, residual):
        super().__init__()
        self.residual = residual
        self.layers = nn.ModuleList(nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()) for _ in range(depth))

    def forward(self, x):
        for layer in self.layers:
            x = x + layer(x) if self.residual else layer(x)
        return x


grad_ratio = {}
for residual in (False, True):
    torch.manual_seed(0)
    stack = Stack(depth=20, residual=residual)
    stack(torch.randn(8, 16, 14, 14)).square().mean().backward()
    norms = [float(layer[0].weight.grad.norm()) for layer in stack.layers]
    grad_ratio[residual] = norms[0] / norms[-1]
print(f"plain stack:    |grad layer 1| / |grad layer 20| = {grad_ratio[False]:.1e}")
print(f"residual stack: |grad layer 1| / |grad layer 20| = {grad_ratio[True]:.1e}")
print("without shortcuts the gradient vanishes on the way down (ratio < 1e-6):", grad_ratio[False] < 1e-6)
print("with shortcuts layer 1 still gets a usable share (ratio > 1e-2):", grad_ratio[True] > 1e-2)
""")

md(r"""
Batch norm alone also rescues the plain stack at initialisation. The ResNet paper's observation goes further: even with BN,
plain networks deeper than about 20 layers reach a *higher training error* than shallower ones, while residual networks keep
improving with depth (He et al., 2015, figure 1 and table 2).
""")

md(r"""
### 4.3 Global average pooling instead of flatten + dense

Lesson 04's CNN flattens a 64×14×14 map into 12,544 numbers and feeds them to a dense layer: that one layer holds almost all
of its parameters. Modern networks average each channel over the whole map instead (**global average pooling**) and feed
the $C$ averages to a small dense layer. The head no longer depends on the map size, and it cannot memorise *where* a
feature was, only *whether* it was there.
""")

code(r"""
flatten_head = shapes.dense_params(64 * 14 * 14, 128) + shapes.dense_params(128, 10)
gap_head = shapes.dense_params(64, 10)
print(f"flatten + dense head (lesson 04): {flatten_head:>9,} parameters")
print(f"global average pooling head:      {gap_head:>9,} parameters")
""")

# ----------------------------------------------------------------------------------------------- modern net
md(r"""
## 5. A small modern network against lesson 04's CNN

`course_lib.nn.modern.ModernCNN` puts the pieces together: a 3×3 stem conv, four depthwise-separable residual blocks
(two of them halve the map with stride 2 and use projection shortcuts), BN everywhere, global average pooling and one
dense layer. Its layer list, with shapes, parameters and multiply-adds per layer (`course_lib.nn.counting` reads each layer of a model
as a `shapes` spec during one forward pass):
""")

code(r"""
modern_net = modern.ModernCNN()
rows = counting.layer_rows(modern_net, (1, 1, 28, 28))     # one forward pass, each layer read as a shapes spec
print(f"{'layer':<28}{'output':>16}{'params':>9}{'mult-adds':>12}")
for row in rows:
    print(f"{row.name:<28}{str(row.output_shape):>16}{row.parameters:>9,}{row.mult_adds:>12,}")
print(f"{'(+ BatchNorm: 2 per channel)':<28}{'':>16}{shapes.param_count(modern_net) - sum(r.parameters for r in rows):>9,}")
""")

code(r"""
# NBVAL_IGNORE_OUTPUT
results = {}
for name, make, settings in [("lesson 04 MnistCNN", models.MnistCNN, FIT), ("ModernCNN", modern.ModernCNN, MODERN_FIT)]:
    train.seed_everything(0)
    model = make()
    start = time.perf_counter()
    train.fit(model, (x_train, y_train), None, progress=False, **settings)
    seconds = time.perf_counter() - start
    results[name] = dict(parameters=shapes.param_count(model), mult_adds=counting.mult_adds(model),
                         accuracy=train.evaluate(model, (x_test, y_test))["accuracy"], seconds=seconds)
print(f"{'network':<20}{'parameters':>12}{'mult-adds':>14}{'held-out acc':>14}{'train time':>12}")
for name, r in results.items():
    print(f"{name:<20}{r['parameters']:>12,}{r['mult_adds']:>14,}{r['accuracy']:>14.4f}{r['seconds']:>11.1f}s")
""")

code(r"""
old, new = results["lesson 04 MnistCNN"], results["ModernCNN"]
print(f"parameters: {old['parameters'] / new['parameters']:.0f}x fewer; multiply-adds: {old['mult_adds'] / new['mult_adds']:.1f}x fewer")
print("at least 10x fewer parameters and 5x fewer multiply-adds:",
      old["parameters"] >= 10 * new["parameters"] and old["mult_adds"] >= 5 * new["mult_adds"])
print("held-out accuracy within 1 point of lesson 04's CNN:", new["accuracy"] >= old["accuracy"] - 0.01)
""")

md(r"""
Fewer multiply-adds do not mean proportionally less time on a CPU: a depthwise conv does little arithmetic per value it
reads, so memory traffic and per-layer overheads dominate (the training times above show it). That is why mobile
networks are designed and compared on measured latency, not only on multiply-adds.
""")

# ----------------------------------------------------------------------------------------------- check
md("## 6. Self-check")

code(r"""
Quiz([
    Numeric("Parameters of a 1×1 conv from 256 to 64 channels, without bias?",
            answer=shapes.conv_params(256, 64, (1, 1), bias=False), tolerance=0, explanation="64 · 256 · 1 · 1 = 16,384."),
    Numeric("Parameters of a depthwise 3×3 conv on 128 channels (groups = 128), without bias?",
            answer=shapes.conv_params(128, 128, (3, 3), bias=False, groups=128), tolerance=0,
            explanation="One 3×3 filter per channel: 128 · 1 · 9 = 1,152."),
    Numeric("A transposed conv with kernel 4, stride 2, padding 1 gets a 7×7 map. What is the output width?",
            answer=shapes.conv_transpose_output_size(7, 4, stride=2, padding=1), tolerance=0,
            explanation="(7 − 1)·2 − 2·1 + (4 − 1) + 1 = 14."),
    MultipleChoice("Your model's prediction for an image changes when you change the other images in its batch. Most likely cause?",
                   ["The learning rate is too high", "BatchNorm is still in training mode at inference (call model.eval())",
                    "The 1×1 convs have no bias"],
                   answer=1, explanation="Training-mode BN normalises with the batch's own statistics; eval mode uses the running ones."),
    MultipleChoice("What can a depthwise-separable layer NOT express that a full 3×3 conv can?",
                   ["Mixing information across channels",
                    "Different 3×3 patterns for different output channels reading the same input channel",
                    "A 3×3 spatial pattern"],
                   answer=1, explanation="W[o, c] = P[o, c] · D[c]: every output channel sees input channel c through the same pattern D[c], only scaled."),
    MultipleChoice("Why does a transposed conv with kernel 3 and stride 2 draw a checkerboard?",
                   ["Its weights are initialised badly", "Its stamps overlap unevenly: kernel size not divisible by the stride",
                    "It has no bias"],
                   answer=1, explanation="Some outputs receive two stamps, their neighbours one; k = 4, s = 2 overlaps evenly."),
], title="Lesson 05 self-check", record_as="lesson05")
""")

md(r"""
## Summary

- A **1×1 conv** is a dense layer over channels at every pixel; bottlenecks (1×1 → 3×3 → 1×1) cut a 256-channel 3×3
  layer's parameters and multiply-adds by 8.5×.
- **Groups** divide parameters and multiply-adds by $g$; **depthwise-separable** (depthwise 3×3 + pointwise 1×1) costs
  about $1/9$ of a full 3×3 conv — and is exactly a full conv with rank-1 kernels per input channel.
- A **transposed conv** stamps the kernel once per input value: output size $(i-1)s - 2p + d(k-1) + \text{output\_padding} + 1$;
  it is the input gradient of the conv with the same weights, and it draws a checkerboard when $k$ is not divisible by $s$.
- **Batch norm** normalises with batch statistics in training and running averages at inference (`model.eval()`); it keeps
  activations at a steady scale through depth and speeds training up.
- **Residual** shortcuts (identity or projection) carry the gradient to early layers; **global average pooling** replaces a
  huge flatten + dense head.
- Together: a network with far fewer parameters and multiply-adds than lesson 04's CNN, at the same accuracy.

**Next:** [lesson 06](06_interview_prep.ipynb), interview practice. Practice: [problem set 6](../exercises/ps6/ps6.ipynb),
[flashcards](../flashcards/review.ipynb) for lesson 05.
""")

nb = new_notebook(cells=CELLS)
nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
nb.metadata["language_info"] = {"name": "python"}
nbformat.write(nb, "lessons/05_modern_conv_layers.ipynb")
print("wrote", len(CELLS), "cells")
