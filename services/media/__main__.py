import asyncio

from services.media.server import main

asyncio.run(main())
