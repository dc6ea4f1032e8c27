"""Takes SLOW_IMPORT_S seconds to import, like a handler initialising on a busy machine."""

import os
import time

time.sleep(float(os.environ["SLOW_IMPORT_S"]))


def handler(event, context):
    return {"remaining_ms": context.get_remaining_time_in_millis()}
