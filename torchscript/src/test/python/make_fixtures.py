"""Writes the TorchScript test fixtures of maskopt's torchscript module, with recorded outputs.

Run with Debian's python3-torch (1.13.1): /usr/bin/python3 torchscript/src/test/python/make_fixtures.py
Writes into torchscript/src/test/resources/dev/maskopt/torchscript/ (committed, so CI needs no Python):

  text_embed.pt   word-level text classifier; embeddings from an exported embed(ids) method;
                  its logits depend only on the cue words "good" and "bad" (words.txt is its vocabulary)
  text_table.pt   word-piece text classifier; embeddings from an exported embedding_table buffer [V, D];
                  its logits depend only on the token at position 3 (vocab.txt, BERT style)
  image_region.pt image CNN on [B, 3, 16, 16] pixels in [0, 1]; it looks only at rows 4..7, columns 8..15
  bad_output.pt   a text model whose forward returns [B, T] instead of [B, C] (for the error tests)
  bad_dim.pt      a text model whose embed gives D = 8 while its forward reads D = 6 (for the error tests)
  recorded.json   inputs, logits and input gradients recorded here, compared by the Java tests

Every model follows maskopt's TorchScript contract (see the README, "Bring your own PyTorch model").
"""
import json
import os
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "dev", "maskopt", "torchscript")
D = 8

torch.manual_seed(1234)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


# ---- text model with an embed(ids) method: logits depend only on the cue words ------------------------------------
WORDS = ["<pad>", "<unk>", "the", "movie", "was", "and", "plot", "fine", "a", "film", "it", "good", "bad",
         "acting", "story", "long", "seemed", "to", "me", "quite"]


class CueWords(nn.Module):
    """Cue words "good" and "bad" carry the only signal, in dims 0 and 1 of their embeddings; every other word
    lives in dims 2..7, which the classifier never reads. <pad> (the baseline) is the zero vector."""

    labels: List[str]

    def __init__(self):
        super().__init__()
        table = torch.zeros(len(WORDS), D)
        table[2:, 2:] = torch.randn(len(WORDS) - 2, D - 2)
        table[WORDS.index("good"), 0] = 2.0
        table[WORDS.index("bad"), 1] = 2.0
        self.table = nn.Parameter(table)
        self.hidden = nn.Linear(2, 4)
        with torch.no_grad():
            self.hidden.weight.copy_(torch.tensor([[1.5, -0.5], [-0.5, 1.5], [1.0, 1.0], [0.7, -0.7]]))
            self.hidden.bias.zero_()
        self.out = nn.Linear(4, 2, bias=False)
        with torch.no_grad():
            self.out.weight.copy_(torch.tensor([[-2.0, 2.0, 0.0, -1.5], [2.0, -2.0, 0.0, 1.5]]))
        self.labels = ["negative", "positive"]

    @torch.jit.export
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.table)

    def forward(self, embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        m = attention_mask.to(embeddings.dtype).unsqueeze(-1)
        h = torch.tanh(self.hidden(embeddings[:, :, 0:2]))  # [B, T, 4]; 0 wherever dims 0, 1 are 0
        return self.out((h * m).sum(dim=1))


# ---- text model with an embedding table buffer: logits depend only on position 3 -----------------------------------
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "movie", "was", "good", "bad", "plot", "fine",
         "and", "acting", "un", "##believ", "##able", "a", "film", ".", ",", "story"]


class Position3(nn.Module):
    labels: List[str]

    def __init__(self):
        super().__init__()
        table = torch.randn(len(VOCAB), D)
        table[0] = 0.0  # [PAD], the baseline
        self.register_buffer("embedding_table", table)
        w = torch.randn(3, D) * 1.5
        self.head = nn.Linear(D, 3, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(w)
        self.labels = ["a", "b", "c"]

    def forward(self, embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        m = attention_mask.to(embeddings.dtype).unsqueeze(-1)
        x = embeddings * m
        if x.shape[1] > 3:
            picked = x[:, 3]  # the token at position 3
        else:
            picked = torch.zeros_like(x[:, 0])  # a shorter text has none
        return 2.0 * self.head(picked)


# ---- image model: looks only at rows 4..7, columns 8..15 -------------------------------------------------------------
class Region(nn.Module):
    labels: List[str]

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)
        self.labels = ["other", "red square"]

    def features(self, images: torch.Tensor) -> torch.Tensor:
        crop = images[:, :, 4:8, 8:16]  # the only pixels the model reads
        return F.relu(self.conv(crop)).mean(dim=(2, 3))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(images))


class BadOutput(nn.Module):
    def forward(self, embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return embeddings.sum(dim=2)  # [B, T], not [B, C]

    @torch.jit.export
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.zeros(ids.shape[0], ids.shape[1], 8)


class BadDim(nn.Module):
    """embed gives D = 8 but forward reads D = 6."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(6, 2)

    def forward(self, embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(embeddings).sum(dim=1)

    @torch.jit.export
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.zeros(ids.shape[0], ids.shape[1], 8)


def test_image():
    g = torch.Generator().manual_seed(7)
    img = 0.3 + 0.4 * torch.rand(3, 16, 16, generator=g)
    img[:, 4:8, 8:16] = torch.tensor([1.0, 0.05, 0.05]).view(3, 1, 1)  # a red bar over two 4x4 patches
    return img


def record_grad(model, inputs, weights, *extra):
    x = inputs.clone().requires_grad_(True)
    logits = model(x, *extra)
    (logits * weights).sum().backward()
    return logits, x.grad


def main():
    os.makedirs(OUT, exist_ok=True)
    rec = {"torch": torch.__version__}

    # text, embed method
    cue = CueWords().eval()
    for p in cue.parameters():
        p.requires_grad_(False)
    s = torch.jit.script(cue)
    s.save(os.path.join(OUT, "text_embed.pt"))
    with open(os.path.join(OUT, "words.txt"), "w") as f:
        f.write("\n".join(WORDS) + "\n")
    ids = torch.tensor([[2, 3, 4, 11, 5, 2, 6, 4, 7], [2, 14, 4, 12, 0, 0, 0, 0, 0]])
    lengths = torch.tensor([9, 4])
    mask = (torch.arange(ids.shape[1]).view(1, -1) < lengths.view(-1, 1)).long()
    emb = s.embed(ids) * mask.unsqueeze(-1)
    emb = emb + 0.1 * torch.randn(emb.shape) * mask.unsqueeze(-1)  # off-table inputs, as the mixed ones are
    wts = torch.randn(2, 2)
    logits, grad = record_grad(s, emb, wts, mask)
    rec["text_embed"] = {"ids": ids.reshape(-1).tolist(), "lengths": lengths.tolist(), "shape": list(emb.shape),
                         "embedded": flat(s.embed(ids) * mask.unsqueeze(-1)), "inputs": flat(emb),
                         "dlogits": flat(wts), "logits": flat(logits), "grad": flat(grad)}

    # text, embedding table
    p3 = Position3().eval()
    for p in p3.parameters():
        p.requires_grad_(False)
    s3 = torch.jit.script(p3)
    s3.save(os.path.join(OUT, "text_table.pt"))
    with open(os.path.join(OUT, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    ids3 = torch.tensor([[2, 5, 6, 7, 8, 3], [2, 5, 9, 3, 0, 0]])
    len3 = torch.tensor([6, 4])
    mask3 = (torch.arange(ids3.shape[1]).view(1, -1) < len3.view(-1, 1)).long()
    emb3 = F.embedding(ids3, p3.embedding_table) * mask3.unsqueeze(-1)
    emb3 = emb3 + 0.1 * torch.randn(emb3.shape) * mask3.unsqueeze(-1)
    wts3 = torch.randn(2, 3)
    logits3, grad3 = record_grad(s3, emb3, wts3, mask3)
    rec["text_table"] = {"ids": ids3.reshape(-1).tolist(), "lengths": len3.tolist(), "shape": list(emb3.shape),
                         "inputs": flat(emb3), "dlogits": flat(wts3), "logits": flat(logits3), "grad": flat(grad3)}

    # image
    reg = Region().eval()
    img = test_image()
    with torch.no_grad():
        f_img = reg.features(img.unsqueeze(0))[0]
        f_black = reg.features(torch.zeros(1, 3, 16, 16))[0]
        direction = f_img - f_black
        direction = direction / direction.norm()
        margin = ((f_img - f_black) @ direction).item()
        scale = 12.0 / margin  # logit difference +6 on the image, -6 on black
        reg.fc.weight.copy_(torch.stack([-direction, direction]) * scale / 2)
        mid = (f_img + f_black) / 2
        b = (mid @ direction).item() * scale / 2
        reg.fc.bias.copy_(torch.tensor([b, -b]))
    for p in reg.parameters():
        p.requires_grad_(False)
    si = torch.jit.script(reg)
    si.save(os.path.join(OUT, "image_region.pt"))
    imgs = torch.stack([img, torch.rand(3, 16, 16)])
    wtsi = torch.randn(2, 2)
    xi = imgs.clone().requires_grad_(True)
    li = si(xi)
    (li * wtsi).sum().backward()
    rec["image"] = {"shape": list(imgs.shape), "inputs": flat(imgs), "dlogits": flat(wtsi), "logits": flat(li),
                    "grad": flat(xi.grad), "probability": float(torch.softmax(li[0], 0)[1])}

    torch.jit.script(BadOutput()).save(os.path.join(OUT, "bad_output.pt"))
    torch.jit.script(BadDim()).save(os.path.join(OUT, "bad_dim.pt"))

    with open(os.path.join(OUT, "recorded.json"), "w") as f:
        json.dump(rec, f)
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))
    print("text_embed logits", logits.tolist())
    print("text_table logits", logits3.tolist())
    print("image logits", li.tolist(), "p(red square)", rec["image"]["probability"])


if __name__ == "__main__":
    main()
