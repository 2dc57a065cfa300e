import pytest
import torch

from search_spaces.cost import count_params
from search_spaces.zoo import ZOO, create_model

ZOO_MODELS = [
    "resnet8", "resnet14", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet8x4", "resnet32x4",
    "wrn_16_1", "wrn_16_2", "wrn_40_1", "wrn_40_2",
    "vgg8", "vgg11", "vgg13", "vgg16", "vgg19",
    "mobilenetv2",
]  # fmt: skip

# Published parameter counts in millions, as rounded in their source. Every figure here was read in the source
# named beside it; figures that could not be confirmed are left out rather than guessed.
# chenyaofo/pytorch-cifar-models README, model-zoo tables: its CifarResNet has the same layout as RepDistiller's
# (stem 16, stages 16/32/64, 1x1 conv + BN shortcuts).
PUBLISHED_MILLIONS = {
    ("resnet20", 10): 0.27,  # chenyaofo README, CIFAR-10 table
    ("resnet32", 10): 0.47,  # chenyaofo README, CIFAR-10 table
    ("resnet44", 10): 0.66,  # chenyaofo README, CIFAR-10 table
    ("resnet56", 10): 0.86,  # chenyaofo README, CIFAR-10 table
    ("resnet20", 100): 0.28,  # chenyaofo README, CIFAR-100 table
    ("resnet32", 100): 0.47,  # chenyaofo README, CIFAR-100 table
    ("resnet44", 100): 0.67,  # chenyaofo README, CIFAR-100 table
    ("resnet56", 100): 0.86,  # chenyaofo README, CIFAR-100 table
}
# He et al. 2016, Table 6 (CIFAR-10, option-A shortcuts without parameters): ours add the 1x1 projections, so
# they may only be above these, by less than 2%.
HE_ET_AL_MILLIONS = {"resnet20": 0.27, "resnet32": 0.46, "resnet44": 0.66, "resnet56": 0.85, "resnet110": 1.7}


def test_every_model_is_registered():
    assert set(ZOO_MODELS) <= set(ZOO.names())


@pytest.mark.parametrize("num_classes", [10, 100])
@pytest.mark.parametrize("name", ZOO_MODELS)
def test_model_runs_at_32x32_and_splits_at_the_pooled_features(name, num_classes):
    model = create_model(name, num_classes).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        features = model.forward_features(images)
        logits = model(images)
    assert features.dim() == 4 and features.shape[0] == 2
    assert model.classifier.in_features == features.shape[1]
    assert logits.shape == (2, num_classes)
    torch.testing.assert_close(logits, model.classifier(features.mean(dim=(2, 3))))


@pytest.mark.parametrize("name", ["resnet8x4", "wrn_16_1", "vgg8", "mobilenetv2"])
def test_model_scripts(name):
    model = create_model(name, 10).eval()
    scripted = torch.jit.script(model)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(scripted(images), model(images))
        torch.testing.assert_close(scripted.forward_features(images), model.forward_features(images))


@pytest.mark.parametrize("name, num_classes", list(PUBLISHED_MILLIONS))
def test_parameter_count_matches_the_published_figure(name, num_classes):
    count = count_params(create_model(name, num_classes))
    assert round(count / 1e6, 2) == PUBLISHED_MILLIONS[name, num_classes]


@pytest.mark.parametrize("name", list(HE_ET_AL_MILLIONS))
def test_resnets_are_at_most_2_percent_above_he_et_al(name):
    published = HE_ET_AL_MILLIONS[name] * 1e6
    count = count_params(create_model(name, 10))
    assert published <= count <= published * 1.02
