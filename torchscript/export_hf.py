"""Exports a Hugging Face sequence classifier to TorchScript in maskopt's model contract.

    python3 torchscript/export_hf.py distilbert-base-uncased-finetuned-sst-2-english out/

writes out/model.pt and out/vocab.txt; then

    java -jar torchscript/target/maskopt-torchscript-cli.jar explain --torchscript out/model.pt --vocab out/vocab.txt \
        "the acting was superb but the plot was a dull, tedious mess"

The contract (see README.md, "Bring your own PyTorch model"):
    forward(embeddings: float32 [B, T, D], attention_mask: int64 [B, T]) -> logits [B, C]
    embed(ids: int64 [B, T]) -> float32 [B, T, D]          (the model's word-piece embeddings)
    labels: List[str], max_length: int                     (optional attributes)
maskopt masks the word-piece embeddings (what the Hugging Face model receives as inputs_embeds, before position and
token-type embeddings are added), so a masked word keeps its position and loses only its identity.

Needs torch and transformers (pip install torch transformers). The model's body is traced (Hugging Face models are
not scriptable); a scripted wrapper around the traced body carries embed(), the labels and max_length.
"""
import os
import sys
from typing import List

import torch


class _Body(torch.nn.Module):
    """The Hugging Face model on inputs_embeds, returning the logits tensor (traced)."""

    def __init__(self, hf):
        super().__init__()
        self.hf = hf

    def forward(self, embeddings, attention_mask):
        return self.hf(inputs_embeds=embeddings, attention_mask=attention_mask, return_dict=False)[0]


class Contract(torch.nn.Module):
    labels: List[str]
    max_length: int

    def __init__(self, body, word_embeddings, labels: List[str], max_length: int):
        super().__init__()
        self.body = body
        self.word_embeddings = word_embeddings
        self.labels = labels
        self.max_length = max_length

    def forward(self, embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.body(embeddings, attention_mask)

    @torch.jit.export
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.word_embeddings(ids)


def export(hf_model, labels: List[str], max_length: int, path: str):
    """Traces hf_model (a module taking inputs_embeds and attention_mask) and saves the scripted contract."""
    hf_model.eval()
    for p in hf_model.parameters():
        p.requires_grad_(False)
    emb_layer = hf_model.get_input_embeddings()
    ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 0, 0, 0, 0]])
    mask = (ids != 0).long()
    mask[:, 0] = 1
    # Trace with an input that requires grad, so that the recorded path is one autograd can differentiate (some
    # modules take a fused inference-only path when nothing requires grad).
    embeddings = emb_layer(ids).detach().requires_grad_(True)
    body = torch.jit.trace(_Body(hf_model), (embeddings, mask), check_trace=False)
    scripted = torch.jit.script(Contract(body, emb_layer, list(labels), int(max_length)))
    # The traced body must follow other lengths and batch sizes: check one it was not traced with.
    ids2 = torch.tensor([[1, 5, 9, 2]])
    with torch.no_grad():
        expected = _Body(hf_model)(emb_layer(ids2), torch.ones_like(ids2))
        got = scripted(scripted.embed(ids2), torch.ones_like(ids2))
    if not torch.allclose(expected, got, atol=1e-4):
        raise RuntimeError("the traced model does not generalize to other shapes; export it with a fixed length")
    scripted.save(path)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: export_hf.py MODEL_NAME_OR_DIR OUT_DIR")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    name, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(name)
    hf = AutoModelForSequenceClassification.from_pretrained(name)
    labels = [hf.config.id2label[i] for i in range(hf.config.num_labels)]
    export(hf, labels, getattr(hf.config, "max_position_embeddings", 512), os.path.join(out, "model.pt"))
    tok.save_vocabulary(out)  # vocab.txt for BERT-family (WordPiece) tokenizers
    print("wrote", os.path.join(out, "model.pt"), "and the vocabulary; labels:", labels,
          "; lowercase:", getattr(tok, "do_lower_case", None))


if __name__ == "__main__":
    main()
