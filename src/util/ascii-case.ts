/**
 * GitHub compares logins, repository, environment and secret names ignoring ASCII case only:
 * `Production` is `production`, but `productİon` (U+0130) is not. JavaScript's toLowerCase folds
 * far more (İ becomes i̇, K (U+212A, the Kelvin sign) becomes k), which would let a look-alike
 * name match. These fold A–Z and nothing else.
 */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

export function asciiUpper(text: string): string {
  return text.replace(/[a-z]+/g, (letters) => letters.toUpperCase());
}

export function sameName(a: string, b: string): boolean {
  return a.length === b.length && asciiLower(a) === asciiLower(b);
}
