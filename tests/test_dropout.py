"""The tagger's dropout: nn.Dropout's distribution from a uniform draw."""

import pytest
import torch

from pipeline.models.dropout import Dropout


def test_training_zeroes_about_p_and_scales_the_rest():
    torch.manual_seed(0)
    x = torch.ones(200, 500)
    out = Dropout(0.3).train()(x)
    kept = out != 0
    assert abs(1 - kept.float().mean().item() - 0.3) < 0.01
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1 / 0.7))


def test_eval_and_zero_p_are_the_identity_and_gradients_flow_through_kept_elements():
    x = torch.randn(4, 6, requires_grad=True)
    assert Dropout(0.5).eval()(x) is x and Dropout(0.0).train()(x) is x
    out = Dropout(0.5).train()(x)
    out.sum().backward()
    assert torch.equal(x.grad, (out != 0).float() * 2.0)


def test_p_outside_the_unit_interval_is_refused():
    with pytest.raises(ValueError, match="dropout"):
        Dropout(1.0)
