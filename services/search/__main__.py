import asyncio

from services.search.server import main

asyncio.run(main())
