/**
 * The keys of `T` as a list, checked complete and exact by the compiler: a key added to `T` and
 * forgotten here, or one named here that `T` lacks, is a type error (a hand-kept array of names is not).
 * `keysOf<T>()({ a: true, b: true })` answers `['a', 'b']`, in the order written.
 */
export const keysOf =
  <T extends object>() =>
  <R extends Record<keyof T, true>>(names: R & Record<Exclude<keyof R, keyof T>, never>): readonly (keyof T)[] =>
    Object.keys(names) as (keyof T)[];
