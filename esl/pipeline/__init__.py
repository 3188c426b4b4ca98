"""The update pipeline: published prices to acknowledged shelf labels (docs/pipeline.md).

planning      which labels, what content: bound labels -> resolve -> render (cache)
images        the planes of planned and confirmed images: the bases of deltas
frames        the one builder of signed frames and their outbox rows
dispatch      outbox -> Gateway with a window per store gateway
settlement    answers -> outbox rows and label state (acceptance, verdicts, check-ins)
verification  every uplink checked with its label's key
retry         exponential backoff with jitter, bounded attempts
verdicts      what a label's answer means for the frame it answers
controller    owns the thread, clock and loops: watches the planning queue and
              bindings, plans, runs the dispatcher
heap          the garbage collector's settings while a controller runs
provisioning  registers the labels (and keys) of a gateway's provisioning file
"""

from esl.pipeline.affected_labels import labels_changed_by_publication
from esl.pipeline.controller import ControllerSettings, UpdateController
from esl.pipeline.dispatch import DispatchCounts, Dispatcher
from esl.pipeline.errors import PipelineError, UnplannableLabelError
from esl.pipeline.planning import LabelPlanner, PlanResult
from esl.pipeline.provisioning import register_provisioned_labels
from esl.pipeline.retry import RetryPolicy
from esl.pipeline.verdicts import ParkReason, Verdict, verdict_for

__all__ = [
    "ControllerSettings",
    "DispatchCounts",
    "Dispatcher",
    "LabelPlanner",
    "ParkReason",
    "PipelineError",
    "PlanResult",
    "RetryPolicy",
    "UnplannableLabelError",
    "UpdateController",
    "Verdict",
    "labels_changed_by_publication",
    "register_provisioned_labels",
    "verdict_for",
]
