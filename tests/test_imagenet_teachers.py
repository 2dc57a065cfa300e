"""ImageNet teachers: torchvision's/timm's checkpoint keys load, bad checkpoints are named, a ViT teacher scores."""

import pytest
import torch

from diswot.errors import DiswotError
from diswot.network_outputs import forward_outputs
from diswot.proxies.diswot_similarity import relation_matrix
from diswot.teachers import build_network, load_teacher
from search_spaces.cost import count_params
from search_spaces.imagenet_models import IMAGENET_MODELS

# The first keys of torchvision's / timm's state dicts and their classifier keys (from the models' definitions in
# torchvision.models.resnet/mobilenetv2/mobilenetv3 and timm.models.vision_transformer).
FOREIGN_KEYS = {
    "resnet18": ["conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                 "layer4.1.bn2.bias", "fc.weight", "fc.bias"],
    "resnet50": ["layer1.0.conv3.weight", "layer3.5.bn3.running_var", "layer4.0.downsample.1.weight", "fc.weight"],
    "mobilenet_v2": ["features.0.0.weight", "features.1.conv.0.0.weight", "features.1.conv.1.weight",
                     "features.2.conv.3.running_mean", "features.18.1.weight", "classifier.1.weight"],
    "mobilenet_v3_large": ["features.0.0.weight", "features.1.block.0.0.weight", "features.4.block.2.fc1.weight",
                           "features.4.block.3.1.bias", "features.16.0.weight", "classifier.0.weight",
                           "classifier.3.weight"],
    "deit_tiny": ["cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight",
                  "blocks.11.mlp.fc2.bias", "norm.weight", "head.weight"],
}
# Published parameter counts at 1000 classes: torchvision docs (resnet34, mobilenet_v3_large), timm's model card
# of deit_tiny_patch16_224 (5.7M; 5,717,416 from its shapes: 12 blocks of 444,864 plus embeddings, norm and head).
PARAMS = {"resnet34": 21_797_672, "mobilenet_v3_large": 5_483_032, "deit_tiny": 5_717_416}


def foreign_state(name, model):
    state = model.state_dict()
    back = {"resnet18": {"classifier.": "fc."}, "resnet50": {"classifier.": "fc."},
            "mobilenet_v2": {"classifier.": "classifier.1."},
            "mobilenet_v3_large": {"head.0.": "classifier.0.", "classifier.": "classifier.3."},
            "deit_tiny": {"classifier.": "head."}}[name]
    renamed = {}
    for key, value in state.items():
        for ours, theirs in back.items():
            if key.startswith(ours):
                key = theirs + key[len(ours):]
                break
        renamed[key] = value
    return renamed


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_counts_are_the_published_ones(name):
    with torch.device("meta"):
        assert count_params(IMAGENET_MODELS.get(name)(1000)) == PARAMS[name]


@pytest.mark.parametrize("name", sorted(FOREIGN_KEYS))
def test_a_checkpoint_under_the_foreign_key_names_loads(name, tmp_path):
    source = build_network(f"imagenet:{name}", 10)
    state = foreign_state(name, source)
    assert set(FOREIGN_KEYS[name]) <= set(state)
    path = tmp_path / f"{name}.pth"
    torch.save({"state_dict": state}, path)
    teacher = load_teacher(f"imagenet:{name}", 10, checkpoint=path, seed=1)
    assert teacher.trained and not teacher.model.training
    for key, value in source.state_dict().items():
        assert torch.equal(teacher.model.state_dict()[key], value), key
    images = torch.randn(2, 3, 64, 64)
    assert torch.allclose(teacher.model(images), source.eval()(images), atol=1e-5)


def test_a_checkpoint_with_another_class_count_names_the_classifier_and_the_fix(tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(foreign_state("resnet18", build_network("imagenet:resnet18", 1000)), path)
    with pytest.raises(DiswotError) as error:
        load_teacher("imagenet:resnet18", 100, checkpoint=path)
    message = str(error.value)
    assert "\n" not in message
    assert "classifier.weight is (1000, 512) in the checkpoint but (100, 512) in the teacher" in message
    assert "--num-classes" in message


def test_a_checkpoint_of_another_network_names_missing_and_unexpected_keys(tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(foreign_state("resnet18", build_network("imagenet:resnet18", 10)), path)
    with pytest.raises(DiswotError, match=r"missing keys: layer1\.2\.conv1\.weight.* more") as error:
        load_teacher("imagenet:resnet34", 10, checkpoint=path)
    assert "\n" not in str(error.value)


def test_an_unknown_imagenet_name_suggests_the_closest():
    with pytest.raises(DiswotError, match=r"unknown ImageNet teacher 'resnt50' \(did you mean 'resnet50'\?\); valid"):
        build_network("imagenet:resnt50", 10)


def test_the_cnn_teachers_are_the_space_reference_points():
    from search_spaces import get_space

    space = get_space("resnet_imagenet")
    teacher, point = build_network("imagenet:resnet50", 10), space.build(space.parse("resnet50"), 10)
    assert list(teacher.state_dict()) == list(point.state_dict())


def test_vit_outputs_are_patch_tokens_as_positions_and_the_class_token_as_h():
    model = build_network("imagenet:deit_tiny", 10)
    images = torch.randn(3, 3, 224, 224)
    with torch.no_grad():
        outputs = forward_outputs(model, images)
        tokens = model.norm(model.blocks(
            torch.cat([model.cls_token.expand(3, -1, -1), model.patch_embed(images).flatten(2).transpose(1, 2)], 1)
            + model.pos_embed
        ))
    assert outputs.features.shape == (3, 192, 14, 14) and outputs.pooled.shape == (3, 192)
    # F holds the 196 patch tokens, row by row in image order; the class token is h and not in F
    assert torch.allclose(outputs.features.flatten(2).transpose(1, 2), tokens[:, 1:], atol=1e-5)
    assert torch.allclose(outputs.pooled, tokens[:, 0], atol=1e-5)
    assert torch.allclose(outputs.logits, model(images), atol=1e-5)
    assert relation_matrix(outputs.features).shape == (3, 3)


def test_vit_resizes_its_position_embeddings_for_a_small_probe():
    model = build_network("imagenet:deit_tiny", 10)
    outputs = forward_outputs(model, torch.randn(2, 3, 32, 32))
    assert outputs.features.shape == (2, 192, 2, 2)


def test_a_vit_teacher_scores_cnn_students_with_finite_terms():
    from diswot.probe_data import ProbeDataSpec
    from diswot.scoring import score

    records = score(
        "imagenet:deit_tiny", "mobilenet", ["w0.5-k3e3-k3e3-k3e3-k3e3-k3e3-k3e3", "w0.5-k5e6-k5e6-k5e6-k5e6-k5e6-k5e6"],
        num_classes=10, data=ProbeDataSpec(batch_size=4, image_size=64), proxies=["diswot"],
    )
    for record in records:
        assert all(torch.isfinite(torch.tensor(value)) for value in record.terms.values()), record.terms
    assert records[0].score != records[1].score
