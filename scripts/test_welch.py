"""Tests of welch.py against printed t tables and hand-worked cases
(run by scripts/test.sh: python -m unittest discover -s scripts)."""

import math
import unittest

from welch import betainc, t_two_sided_p, welch


class StudentT(unittest.TestCase):
    def test_printed_critical_values(self):
        # two-sided critical values of Student's t (any printed t table)
        for t, df, p in [(2.228139, 10, 0.05), (2.776445, 4, 0.05), (4.032143, 5, 0.01),
                         (12.706205, 1, 0.05), (1.959964, 1e9, 0.05), (2.570582, 5, 0.05)]:
            self.assertAlmostEqual(t_two_sided_p(t, df), p, places=6, msg=f"t {t}, df {df}")

    def test_closed_forms(self):
        # df 1 is the Cauchy distribution: P(|T| > t) = 1 - 2 atan(t) / pi
        for t in (0.3, 1.0, 7.0):
            self.assertAlmostEqual(t_two_sided_p(t, 1), 1 - 2 * math.atan(t) / math.pi, places=12)
        # df 2: P(|T| > t) = 1 - t / sqrt(2 + t^2)
        for t in (0.5, 2.0, 30.0):
            self.assertAlmostEqual(t_two_sided_p(t, 2), 1 - t / math.sqrt(2 + t * t), places=12)
        self.assertEqual(t_two_sided_p(0.0, 7), 1.0)
        self.assertEqual(t_two_sided_p(-2.0, 3.5), t_two_sided_p(2.0, 3.5))

    def test_incomplete_beta(self):
        # I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 - (1 - x)^b
        for x in (0.1, 0.5, 0.93):
            self.assertAlmostEqual(betainc(1, 1, x), x, places=12)
            self.assertAlmostEqual(betainc(2.5, 1, x), x ** 2.5, places=12)
            self.assertAlmostEqual(betainc(1, 3, x), 1 - (1 - x) ** 3, places=12)
        with self.assertRaises(ValueError):
            betainc(1, 1, 1.5)


class Welch(unittest.TestCase):
    def test_hand_worked(self):
        # a: mean 3, variance 2.5; b: mean 4, variance 4; s^2/n = 0.5 and 4/3
        t, df, p = welch([1, 2, 3, 4, 5], [2, 4, 6])
        self.assertAlmostEqual(t, -1 / math.sqrt(0.5 + 4 / 3), places=12)
        self.assertAlmostEqual(df, (0.5 + 4 / 3) ** 2 / (0.5 ** 2 / 4 + (4 / 3) ** 2 / 2), places=12)
        self.assertAlmostEqual(p, t_two_sided_p(t, df), places=15)
        self.assertTrue(0.4 < p < 0.6)

    def test_degenerate(self):
        self.assertTrue(all(math.isnan(v) for v in welch([1, 1], [1, 1])))
        with self.assertRaises(ValueError):
            welch([1], [1, 2])


if __name__ == "__main__":
    unittest.main()
