"""Exercise checks: each runs the learner's code on several cases and says, in plain words, what is wrong.

A notebook calls ``checks.check_<something>(answer)`` after an exercise. A check prints one line when the
answer is right and raises :class:`CheckFailed` with an explanation of the first failing case otherwise.
The generic checks live in ``core``; each lesson's own checks in ``lessonNN``.
"""

from course_utils.checks.core import *  # noqa: F403
from course_utils.checks.core import __all__ as _core
from course_utils.checks.lesson00 import *  # noqa: F403
from course_utils.checks.lesson00 import __all__ as _lesson00
from course_utils.checks.lesson01 import *  # noqa: F403
from course_utils.checks.lesson01 import __all__ as _lesson01
from course_utils.checks.lesson02 import *  # noqa: F403
from course_utils.checks.lesson02 import __all__ as _lesson02
from course_utils.checks.lesson03 import *  # noqa: F403
from course_utils.checks.lesson03 import __all__ as _lesson03
from course_utils.checks.lesson04 import *  # noqa: F403
from course_utils.checks.lesson04 import __all__ as _lesson04
from course_utils.checks.lesson05 import *  # noqa: F403
from course_utils.checks.lesson05 import __all__ as _lesson05
from course_utils.checks.lesson06 import *  # noqa: F403
from course_utils.checks.lesson06 import __all__ as _lesson06
from course_utils.checks.lesson07 import *  # noqa: F403
from course_utils.checks.lesson07 import __all__ as _lesson07
from course_utils.checks.lesson08 import *  # noqa: F403
from course_utils.checks.lesson08 import __all__ as _lesson08
from course_utils.checks.lesson09 import *  # noqa: F403
from course_utils.checks.lesson09 import __all__ as _lesson09
from course_utils.checks.lesson10 import *  # noqa: F403
from course_utils.checks.lesson10 import __all__ as _lesson10
from course_utils.checks.lesson11 import *  # noqa: F403
from course_utils.checks.lesson11 import __all__ as _lesson11
from course_utils.checks.lesson12 import *  # noqa: F403
from course_utils.checks.lesson12 import __all__ as _lesson12
from course_utils.checks.lesson13 import *  # noqa: F403
from course_utils.checks.lesson13 import __all__ as _lesson13
from course_utils.checks.lesson14 import *  # noqa: F403
from course_utils.checks.lesson14 import __all__ as _lesson14
from course_utils.checks.lesson15 import *  # noqa: F403
from course_utils.checks.lesson15 import __all__ as _lesson15
from course_utils.checks.lesson16 import *  # noqa: F403
from course_utils.checks.lesson16 import __all__ as _lesson16

__all__ = [
    *_core,
    *_lesson00,
    *_lesson01,
    *_lesson02,
    *_lesson03,
    *_lesson04,
    *_lesson05,
    *_lesson06,
    *_lesson07,
    *_lesson08,
    *_lesson09,
    *_lesson10,
    *_lesson11,
    *_lesson12,
    *_lesson13,
    *_lesson14,
    *_lesson15,
    *_lesson16,
]
