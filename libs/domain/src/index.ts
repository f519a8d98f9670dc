// Pure rules and deciders (rulesets per year, entitlement, campaign, control): see issue "Rules engine".
export {};
