"""/v1/spaces, /v1/teachers, /v1/proxies, /v1/strategies: the names a request may use."""

from fastapi import APIRouter

from api.dependencies import SettingsDep
from api.schemas.responses import ProxyInfo, SpaceInfo, StrategyInfo, TeacherCatalog
from diswot.proxies import PROXIES
from diswot.student_search.strategies import STRATEGIES
from diswot.teachers import SPEC_FORMS
from search_spaces import SPACES
from search_spaces.imagenet_models import IMAGENET_MODELS
from search_spaces.zoo import list_models

router = APIRouter(tags=["catalog"])


@router.get("/spaces", response_model=list[SpaceInfo])
def list_spaces():
    """Search spaces and how many candidates each holds."""
    return [
        SpaceInfo(name=name, size=space.size(), description=space.description, image_size=space.default_image_size,
                  reference_points=space.reference_points)
        for name, space in ((name, SPACES.get(name)) for name in SPACES)
    ]


@router.get("/teachers", response_model=TeacherCatalog)
def list_teachers(settings: SettingsDep):
    """Named teachers, and the other forms a teacher spec can take."""
    return TeacherCatalog(zoo=list_models(), imagenet=IMAGENET_MODELS.names(), spec_forms=SPEC_FORMS,
                          files_accepted=settings.teacher_dir is not None)


@router.get("/proxies", response_model=list[ProxyInfo])
def list_proxies():
    """Every proxy; each score is reported so that higher is better."""
    return [ProxyInfo(**PROXIES.get(name).describe()) for name in PROXIES]


@router.get("/strategies", response_model=list[StrategyInfo])
def list_strategies():
    """Search strategies."""
    return [StrategyInfo(name=name, summary=STRATEGIES.get(name).summary) for name in STRATEGIES]
