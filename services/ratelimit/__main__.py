import asyncio

from services.ratelimit.server import main

asyncio.run(main())
