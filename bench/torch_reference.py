#!/usr/bin/env python3
"""A plain PyTorch implementation of maskopt's mask optimization, for side-by-side comparisons.

The same algorithm as dev.maskopt.Explainer (README "Architecture", ExplainerConfig's objective) over the same
models with the same weights, written the way a PyTorch user would write it (eager autograd, torch.optim.Adam):

  word gates theta [P,N,W] (hard concrete: log alpha; HardKuma: log a, log b), initialized as maskopt does
  each step: u ~ U(1e-6, 1-1e-6) [S,N,W]; z = reparameterized gate sample; token gate = its word's gate
    (0 for never-masked tokens, whose baseline is their own embedding); keep = z E + (1-z) B,
    drop = (1-z) E + z B; logits = model(keep and drop as one batch of 2 S N rows)
    loss = sum_n  w_suff mean_s -log p_y(keep) + w_comp mean_s -log(1 - p_y(drop))
                + w_l0 E[L0]/W_n + w_trans E[transitions]/W_n
    Adam step on theta (bias-corrected, eps outside the square root: torch.optim.Adam's update)
  then deterministic gates >= threshold give the rationale; one forward of the rationale alone and of the text
  without it gives sufficiency and comprehensiveness.

The models are read from what `SideBySide export DIR` wrote (bench/compare.sh runs it):
  cnn.model   maskopt's CNN model file (CnnClassifier.save: big-endian, Java DataOutputStream)
  minilm.bin  all-MiniLM-L6-v2 (the ONNX file of maskopt's Maven Central dependency) and the shipped SST-2 head,
              raw little-endian float32, with names/shapes/offsets in minilm.json
  cases.json  the encoded texts (ids, baseline ids, word of each token) and the optimization settings

Commands (run with Debian's python3-torch: /usr/bin/python3; install libopenblas0-pthread for a fair BLAS):
  torch_reference.py [--device cuda] time DIR CASE RUNS WARMUP [--threads N]   one JSON line: wall ms per call
  torch_reference.py [--device cuda] agree DIR [--threads N]   compares with DIR/agree-maskopt.json (exit 1 when
                                                               a rationale or target differs)

For the agreement check the gate noise is maskopt's own Philox4x32-10 stream (reimplemented below with numpy), so
both implementations see identical uniforms and must follow the same loss trajectory up to float32 rounding. The
timing runs draw their noise with torch.rand, as a PyTorch user would.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# ---- models -----------------------------------------------------------------------------------------------------


class Cnn:
    """Kim's CNN-static as maskopt's mo_cnn_forward: windows p in [0, max(L-w+1, 1)), rows >= L read as 0,
    relu(max_p(conv)), then a linear layer."""

    def __init__(self, path):
        with open(path, "rb") as f:
            data = f.read()
        pos = [0]

        def i32():
            v = struct.unpack_from(">i", data, pos[0])[0]
            pos[0] += 4
            return v

        def utf():
            n = struct.unpack_from(">H", data, pos[0])[0]
            pos[0] += 2
            s = data[pos[0]:pos[0] + n].decode("utf-8", "replace")
            pos[0] += n
            return s

        def floats():
            n = i32()
            v = np.frombuffer(data, dtype=">f4", count=n, offset=pos[0]).astype(np.float32)
            pos[0] += 4 * n
            return v

        if i32() != 0x4d4f434e:
            raise ValueError("not a maskopt CNN model file: " + path)
        self.dim, self.filters, self.max_length = i32(), i32(), i32()
        self.widths = [i32() for _ in range(i32())]
        self.labels = [utf() for _ in range(i32())]
        self.words = [utf() for _ in range(i32())]
        table, params = floats(), floats()
        self.table = torch.from_numpy(table.reshape(len(self.words), self.dim))
        d, nf, c = self.dim, self.filters, len(self.labels)
        o = 0
        self.conv_w, self.conv_b = [], []
        for w in self.widths:
            wk = params[o:o + nf * w * d].reshape(nf, w, d)  # W_k [F, w, D]
            o += nf * w * d
            self.conv_w.append(torch.from_numpy(np.ascontiguousarray(wk.transpose(0, 2, 1))))  # conv1d: [F, D, w]
            self.conv_b.append(torch.from_numpy(params[o:o + nf].copy()))
            o += nf
        k = len(self.widths)
        self.fc_w = torch.from_numpy(params[o:o + c * k * nf].reshape(c, k * nf).copy())
        o += c * k * nf
        self.fc_b = torch.from_numpy(params[o:o + c].copy())
        assert o + c == len(params)

    def embed(self, ids):
        return F.embedding(ids, self.table)

    def forward(self, x, lengths):
        b, t, d = x.shape
        xt = x.transpose(1, 2)
        maxw = max(self.widths)
        if t < maxw:
            xt = F.pad(xt, (0, maxw - t))
        feats = []
        for w, cw, cb in zip(self.widths, self.conv_w, self.conv_b):
            y = F.conv1d(xt, cw, cb)  # [B, F, P]
            valid = torch.clamp(lengths - w + 1, min=1)
            mask = torch.arange(y.shape[2], device=x.device)[None, :] >= valid[:, None]
            feats.append(y.masked_fill(mask[:, None, :], float("-inf")).amax(dim=2))
        return F.linear(torch.relu(torch.cat(feats, dim=1)), self.fc_w, self.fc_b)


class MiniLm:
    """Post-LayerNorm BERT (all-MiniLM-L6-v2) + mean pooling + linear head, as maskopt's BertClassifier with
    mixing at the word embeddings (positions and token type 0 are added after the mix)."""

    def __init__(self, dir):
        meta = json.load(open(os.path.join(dir, "minilm.json")))
        raw = np.fromfile(os.path.join(dir, "minilm.bin"), dtype="<f4")
        a = {}
        for e in meta["arrays"]:
            n = int(np.prod(e["shape"]))
            a[e["name"]] = torch.from_numpy(raw[e["offset"]:e["offset"] + n].reshape(e["shape"]).copy())
        self.layers_n, self.d, self.h = meta["layers"], meta["hidden"], meta["heads"]
        self.eps = meta["layer_norm_eps"]
        self.word, self.pos, self.type = a["WORD_EMBEDDINGS"], a["POSITION_EMBEDDINGS"], a["TYPE_EMBEDDINGS"][0]
        self.emb_ln = (a["EMBEDDING_LN_GAMMA"], a["EMBEDDING_LN_BETA"])
        self.layers = []
        for l in range(self.layers_n):
            g = lambda p: a["%s.%d" % (p, l)]
            # maskopt stores W [in, out]; nn.Linear keeps W^T [out, in]: store it that way (contiguous).
            self.layers.append(dict(
                wqkv=g("WQKV").t().contiguous(), bqkv=g("BQKV"), wo=g("WO").t().contiguous(), bo=g("BO"),
                ln1=(g("LN1_GAMMA"), g("LN1_BETA")), w1=g("W1").t().contiguous(), b1=g("B1"),
                w2=g("W2").t().contiguous(), b2=g("B2"), ln2=(g("LN2_GAMMA"), g("LN2_BETA"))))
        self.head_w = a["HEAD_W"].t().contiguous()  # [C, D]
        self.head_b = a["HEAD_B"]

    def embed(self, ids):
        return F.embedding(ids, self.word)

    def forward(self, words, lengths):
        b, t, d = words.shape
        h, dh = self.h, d // self.h
        x = F.layer_norm(words + self.pos[:t] + self.type, (d,), *self.emb_ln, eps=self.eps)
        keys_off = torch.arange(t, device=words.device)[None, :] >= lengths[:, None]  # [B, T]
        bias = torch.zeros(b, 1, 1, t, device=words.device).masked_fill(keys_off[:, None, None, :], float("-inf"))
        scale = 1.0 / math.sqrt(dh)
        for p in self.layers:
            qkv = F.linear(x, p["wqkv"], p["bqkv"])
            q, k, v = (y.view(b, t, h, dh).transpose(1, 2) for y in qkv.split(d, dim=2))
            probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * scale + bias, dim=-1)
            o = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, d)
            x1 = F.layer_norm(x + F.linear(o, p["wo"], p["bo"]), (d,), *p["ln1"], eps=self.eps)
            ff = F.linear(F.gelu(F.linear(x1, p["w1"], p["b1"])), p["w2"], p["b2"])
            x = F.layer_norm(x1 + ff, (d,), *p["ln2"], eps=self.eps)
        valid = (~keys_off).to(x.dtype)
        pooled = (x * valid[:, :, None]).sum(dim=1) / lengths[:, None].to(x.dtype)
        return F.linear(pooled, self.head_w, self.head_b)


def to_device(model, device):
    """Moves every tensor attribute (and those in lists, tuples and dicts of them) to the device."""
    def move(x):
        if torch.is_tensor(x):
            return x.to(device)
        if isinstance(x, (list, tuple)):
            return type(x)(move(y) for y in x)
        if isinstance(x, dict):
            return {k: move(v) for k, v in x.items()}
        return x
    for k, v in vars(model).items():
        setattr(model, k, move(v))
    return model


def load_model(dir, name, device="cpu"):
    return to_device(Cnn(os.path.join(dir, "cnn.model")) if name == "cnn" else MiniLm(dir), device)


# ---- gate noise -------------------------------------------------------------------------------------------------

def philox_uniform(seed, step, S, N, W):
    """maskopt's uniforms u[S,N,W] (native/src/philox.h): Philox4x32-10, counter (t, n, s, step), key = seed."""
    m32 = np.uint64(0xFFFFFFFF)
    s, n, t = np.meshgrid(np.arange(S, dtype=np.uint64), np.arange(N, dtype=np.uint64),
                          np.arange(W, dtype=np.uint64), indexing="ij")
    c0, c1, c2, c3 = t, n, s, np.full_like(t, np.uint64(step) & m32)
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64((seed >> 32) & 0xFFFFFFFF)
    for r in range(10):
        if r > 0:
            k0 = (k0 + np.uint64(0x9E3779B9)) & m32
            k1 = (k1 + np.uint64(0xBB67AE85)) & m32
        p0 = np.uint64(0xD2511F53) * c0
        p1 = np.uint64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & m32, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & m32
    u = ((c0 >> np.uint64(8)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0 ** -24)
    return torch.from_numpy(np.clip(u, np.float32(1e-6), np.float32(1.0 - 1e-6)).astype(np.float32))


# ---- gates ------------------------------------------------------------------------------------------------------

class HardConcrete:
    params = 1

    def __init__(self, cfg):
        self.beta, self.l, self.r = cfg["temperature"], cfg["stretch_low"], cfg["stretch_high"]
        self.init = [cfg["init_log_alpha"]]

    def sample(self, theta, u):  # theta [1,N,W], u [S,N,W]
        s = torch.sigmoid((torch.log(u) - torch.log1p(-u) + theta[0]) / self.beta)
        return torch.clamp(self.l + (self.r - self.l) * s, 0.0, 1.0)

    def p_open(self, theta):
        return torch.sigmoid(theta[0] - self.beta * math.log(-self.l / self.r))

    def decode(self, theta):
        return torch.clamp(torch.sigmoid(theta[0]) * (self.r - self.l) + self.l, 0.0, 1.0)


class HardKuma:
    params = 2

    def __init__(self, cfg):
        self.l, self.r = cfg["stretch_low"], cfg["stretch_high"]
        self.init = [cfg["init_log_a"], cfg["init_log_b"]]

    def ab(self, theta):
        return torch.clamp(torch.exp(theta[0]), 1e-6, 100.0), torch.clamp(torch.exp(theta[1]), 1e-6, 100.0)

    def sample(self, theta, u):
        a, b = self.ab(theta)
        logv = torch.log1p(-u) / b
        k = torch.exp(torch.log(-torch.expm1(logv)) / a)
        return torch.clamp(self.l + (self.r - self.l) * k, 0.0, 1.0)

    def probs(self, theta):
        a, b = self.ab(theta)
        u0, u1 = -self.l / (self.r - self.l), (1.0 - self.l) / (self.r - self.l)
        p0 = -torch.expm1(b * torch.log(-torch.expm1(a * math.log(u0))))
        p1 = torch.exp(b * torch.log(-torch.expm1(a * math.log(u1))))
        return p0, p1

    def p_open(self, theta):
        return 1.0 - self.probs(theta)[0]

    def decode(self, theta):
        p0, p1 = self.probs(theta)
        a, b = self.ab(theta)
        pc = 1.0 - p0 - p1
        mean = torch.exp(torch.log(b) + torch.lgamma(1.0 + 1.0 / a) + torch.lgamma(b) - torch.lgamma(1.0 + 1.0 / a + b))
        hard = (p0 <= p1).to(theta.dtype)
        return torch.where((pc > p0) & (pc > p1), mean, hard)


# ---- the explainer ----------------------------------------------------------------------------------------------

def batch_tensors(texts, dev):
    n = len(texts)
    t = max(len(x["ids"]) for x in texts)
    w = max(x["words"] for x in texts)
    ids = torch.zeros(n, t, dtype=torch.long)
    base = torch.zeros(n, t, dtype=torch.long)
    group = torch.full((n, t), -1, dtype=torch.long)
    for k, x in enumerate(texts):
        L = len(x["ids"])
        ids[k, :L] = torch.tensor(x["ids"])
        base[k, :L] = torch.tensor(x["baseline_ids"])
        group[k, :L] = torch.tensor(x["word_of_token"])
    lens = torch.tensor([len(x["ids"]) for x in texts])
    words = torch.tensor([x["words"] for x in texts])
    return ids.to(dev), base.to(dev), group.to(dev), lens.to(dev), words.to(dev), w


def explain(model, texts, cfg, gate_name, steps, S, noise="torch", generator=None, dev="cpu", precision="FP32"):
    """maskopt's Explainer on one batch: returns a dict with probabilities, gates, rationale, certificate, trace.
    precision BF16: the model runs under autocast to bfloat16 (PyTorch's own reduced-precision path)."""
    if precision == "BF16":
        inner = model

        class Autocast:
            def embed(self, ids):
                return inner.embed(ids)

            def forward(self, x, lengths):
                with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16):
                    return inner.forward(x, lengths).float()
        model = Autocast()
    gate = HardConcrete(cfg) if gate_name == "HARD_CONCRETE" else HardKuma(cfg)
    ids, base_ids, group, lens, words, W = batch_tensors(texts, dev)
    n, t = ids.shape
    tok_valid = ((torch.arange(t, device=dev)[None, :] < lens[:, None]) & (group >= 0)).to(torch.float32)  # [N,T]
    pos_valid = (torch.arange(t, device=dev)[None, :] < lens[:, None]).to(torch.float32)
    gidx = group.clamp(min=0)
    word_valid = (torch.arange(W, device=dev)[None, :] < words[:, None]).to(torch.float32)  # [N,W]
    rows_len = lens.repeat(2 * S)

    with torch.no_grad():
        E = model.embed(ids) * pos_valid[:, :, None]
        B = model.embed(base_ids) * pos_valid[:, :, None]
        probs = torch.softmax(model.forward(E, lens), dim=-1)
    target = probs.argmax(dim=-1)
    c = probs.shape[1]
    onehot = F.one_hot(target, c).bool()  # [N,C]

    theta = torch.empty(gate.params, n, W, device=dev)
    for p, v in enumerate(gate.init):
        theta[p].fill_(v)
    theta.requires_grad_(True)
    opt_cls = torch.optim.AdamW if cfg["weight_decay"] > 0 else torch.optim.Adam
    opt = opt_cls([theta], lr=cfg["learning_rate"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["adam_epsilon"],
                  weight_decay=cfg["weight_decay"])
    ws, wc = cfg["sufficiency_weight"], cfg["comprehensiveness_weight"]
    w0, wt = cfg["sparsity_weight"], cfg["contiguity_weight"]
    trace = []
    for step in range(steps):
        if noise == "philox":
            u = philox_uniform(cfg["seed"], step, S, n, W).to(dev)
        else:
            u = torch.rand(S, n, W, generator=generator, device=dev).clamp_(1e-6, 1.0 - 1e-6)
        zw = gate.sample(theta, u)  # [S,N,W]
        z = torch.gather(zw, 2, gidx[None].expand(S, n, t)) * tok_valid  # [S,N,T]
        z = z[..., None]
        keep = z * E + (1 - z) * B
        drop = (1 - z) * E + z * B
        logits = model.forward(torch.cat([keep, drop]).view(2 * S * n, t, -1), rows_len).view(2, S, n, c)
        lse = torch.logsumexp(logits, dim=-1)  # [2,S,N]
        suff = (lse[0] - logits[0][:, onehot]).mean(dim=0)  # [N]
        lse_other = torch.logsumexp(logits[1].masked_fill(onehot[None], float("-inf")), dim=-1)
        comp = (lse[1] - lse_other).mean(dim=0)
        p = gate.p_open(theta) * word_valid  # [N,W]
        l0 = p.sum(dim=1) / words
        trans = ((p[:, :-1] + p[:, 1:] - 2 * p[:, :-1] * p[:, 1:]) * word_valid[:, 1:]).sum(dim=1) / words
        loss = (ws * suff + wc * comp + w0 * l0 + wt * trans).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        trace.append(torch.stack([suff, comp, l0], dim=1).detach())

    with torch.no_grad():
        zdet = gate.decode(theta) * word_valid
        keep_words = (zdet >= cfg["threshold"]).to(torch.float32) * word_valid
        z = (torch.gather(keep_words, 1, gidx) * tok_valid)[..., None]
        cert = torch.softmax(model.forward(torch.cat([z * E + (1 - z) * B, (1 - z) * E + z * B]),
                                           lens.repeat(2)), dim=-1).view(2, n, c)
        py = probs[onehot]
    return dict(probabilities=probs, target=target, gates=zdet, rationale=keep_words,
                sufficiency=py - cert[0][onehot], comprehensiveness=py - cert[1][onehot],
                trace=torch.stack(trace, dim=1) if trace else None, words=words)


# ---- commands ---------------------------------------------------------------------------------------------------

def read_cases(dir):
    spec = json.load(open(os.path.join(dir, "cases.json")))
    return spec["config"], {c["name"]: c for c in spec["cases"]}


def cmd_time(args):
    cfg, cases = read_cases(args.dir)
    case = cases[args.case]
    model = load_model(args.dir, case["model"], args.device)
    gen = torch.Generator(device=args.device).manual_seed(cfg["seed"])
    cuda = args.device.startswith("cuda")
    ms = []
    for r in range(args.warmup + args.runs):
        t0 = time.perf_counter()
        out = explain(model, case["texts"], cfg, case["gate"], case["steps"], case["samples"], "torch", gen,
                      args.device, case.get("precision", "FP32"))
        out["rationale"].cpu()  # the result on the host, as maskopt returns it
        if cuda:
            torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) * 1e3
        if r >= args.warmup:
            ms.append(round(dt, 3))
    print(json.dumps({"impl": "torch", "case": args.case, "threads": str(args.threads), "ms": ms}))


def cmd_agree(args):
    cfg, cases = read_cases(args.dir)
    ref = json.load(open(os.path.join(args.dir, "agree-maskopt.json")))
    rows, bad = [], 0
    models = {}
    for name, mine in ref.items():
        case = cases[name]
        model = models.setdefault(case["model"], load_model(args.dir, case["model"], args.device))
        # The reference runs FP32 even where maskopt used BF16: those rows show what BF16 changes (not counted as
        # failures).
        out = explain(model, case["texts"], cfg, case["gate"], case["steps"], case["samples"], "philox", None,
                      args.device)
        out = {k: (v.cpu() if torch.is_tensor(v) else v) for k, v in out.items()}
        dp = dg = dtr0 = dtr = 0.0
        differ = total = selected = 0
        dcert = 0.0
        for k, m in enumerate(mine):
            w = int(out["words"][k])
            dp = max(dp, float(np.max(np.abs(np.array(m["probabilities"]) - out["probabilities"][k].numpy()))))
            g = out["gates"][k, :w].numpy()
            dg = max(dg, float(np.max(np.abs(np.array(m["gates"]) - g))))
            r = out["rationale"][k, :w].numpy().astype(int)
            differ += int(np.sum(np.array(m["rationale"]) != r))
            total += w
            selected += int(np.sum(np.array(m["rationale"])))
            tr = np.array(m["trace"])  # [steps, 3]
            mine_tr = out["trace"][k].numpy()
            dtr0 = max(dtr0, float(np.max(np.abs(tr[0] - mine_tr[0]))))
            dtr = max(dtr, float(np.max(np.abs(tr - mine_tr))))
            dcert = max(dcert, abs(m["sufficiency"] - float(out["sufficiency"][k])),
                        abs(m["comprehensiveness"] - float(out["comprehensiveness"][k])))
            if int(out["target"][k]) != m["target"]:
                differ += 10 ** 6
        precision = case.get("precision", "FP32")
        if precision == "FP32":
            bad += differ
        rows.append("| %s | %s | %d | %s | %d | %d | %.1e | %.1e | %.1e | %.1e | %.1e | %d / %d |" % (
            name, precision, len(mine), case["gate"], case["steps"], case["samples"], dp, dtr0, dtr, dg, dcert, differ,
            total))
    print("| case | maskopt matmul | texts | gate | steps | samples | max abs diff: probabilities | losses, step 1 "
          "| losses, all steps | final gates | suff/comp | rationale words that differ |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0 if bad == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("time")
    t.add_argument("dir")
    t.add_argument("case")
    t.add_argument("runs", type=int)
    t.add_argument("warmup", type=int)
    a = sub.add_parser("agree")
    a.add_argument("dir")
    for p in (t, a):
        p.add_argument("--threads", type=int, default=1,
                       help="torch intra-op threads (default 1; OpenBLAS threads come from OPENBLAS_NUM_THREADS)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False  # FP32 like maskopt's default precision
        torch.backends.cudnn.allow_tf32 = False
    torch.set_grad_enabled(True)
    if args.cmd == "time":
        cmd_time(args)
        return 0
    return cmd_agree(args)


if __name__ == "__main__":
    sys.exit(main())
