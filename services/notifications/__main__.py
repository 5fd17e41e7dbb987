import asyncio

from services.notifications.server import main

asyncio.run(main())
