"""The locustfile `kesk-conformance soak` hands Locust: one user class per lifecycle (conformance.soak.engine).

Locust runs the classes the command names on its command line; loading this file registers the soak's
event listeners (the plan is read from the environment, judging and reporting set up at Locust's init).
"""

from __future__ import annotations

from conformance.soak.engine import USER_CLASSES

EmailsUser = USER_CLASSES["emails"]
PhonesUser = USER_CLASSES["phones"]
FavouritesUser = USER_CLASSES["favourites"]
FcmUser = USER_CLASSES["fcm"]
DeletionUser = USER_CLASSES["deletion"]
ExportUser = USER_CLASSES["export"]
