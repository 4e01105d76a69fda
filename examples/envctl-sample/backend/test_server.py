"""The sample backend's tests (what `envctl test` runs)."""
import unittest

import server


class Probes(unittest.TestCase):
    def test_no_port_means_not_configured(self):
        self.assertIsNone(server.reach(None))
        self.assertIsNone(server.redis_ping(None))


if __name__ == "__main__":
    unittest.main()
