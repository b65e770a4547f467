/** Central differences of a float64 function of a matrix: the independent gradient reference of the loss tests. */
export type Matrix = number[][];

/** ∂f/∂x[r][c] ≈ (f(x + h·e_rc) − f(x − h·e_rc)) / 2h, which errs by about h²·f''' (≈ 1e-10 at h = 1e-5). */
export function centralDifference(f: (x: Matrix) => number, x: Matrix, h = 1e-5): Matrix {
  return x.map((row, r) =>
    row.map((_, c) => {
      const plus = x.map((rr) => [...rr]);
      const minus = x.map((rr) => [...rr]);
      plus[r][c] += h;
      minus[r][c] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    }),
  );
}
