from services.media.server import main
from services.shared.concurrency import event_loop

event_loop.run(main)
