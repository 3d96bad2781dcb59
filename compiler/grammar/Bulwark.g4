// The Bulwark policy language. docs/language.md is the reference for its meaning;
// this grammar is the reference for its syntax. The parse tree is turned into the AST
// by compiler/parse/AstBuilder; nothing else sees ANTLR types.
grammar Bulwark;

file        : importDecl* topDecl* EOF ;

importDecl  : IMPORT qualifiedName ;

topDecl     : policyDecl | listDecl | macroDecl | constDecl
            // Misplaced but whole: parsed so the error says what is wrong (AstBuilder reports).
            // Other stray tokens are skipped by TopLevelErrorStrategy in parse/Parser.cpp.
            | ruleDecl                                        // a rule outside any policy
            | importDecl                                      // an import after declarations
            ;

policyDecl  : POLICY IDENT LBRACE policyItem* RBRACE ;

policyItem  : DESCRIPTION STRING                     # descriptionItem
            | MODE value=(IDENT | AUDIT)             # modeItem
            | DEFAULT action=(ALLOW | DENY)          # defaultItem
            | SCOPE scopeSpec                        # scopeItem
            | listDecl                               # listItem
            | macroDecl                              # macroItem
            | constDecl                              # constItem
            | ruleDecl                               # ruleItem
            ;

scopeSpec   : IDENT (STRING (COMMA STRING)*)? ;

listDecl    : LIST IDENT (COLON typeName)? ASSIGN listLiteral ;
macroDecl   : MACRO IDENT ASSIGN expr ;
constDecl   : CONST IDENT (COLON typeName)? ASSIGN expr ;
typeName    : IDENT ;

// A rule ends in its effects: at most one verb (allow, deny, audit, kill) with an optional
// message, and any number of marks: mark process "name" for 10m until exec (who is `process`
// or `parent`; 10m lexes as INT IDENT). One token set starts every effect, so a rule missing
// its effect recovers like a missing token; AstBuilder checks what each verb takes.
ruleDecl    : RULE IDENT LBRACE ON hookRef (WHEN expr)? ruleEffect ruleEffect* RBRACE ;
ruleEffect  : verb=(ALLOW | DENY | AUDIT | KILL | MARK) who=IDENT? STRING? (FOR amount=INT unit=IDENT)?
              (UNTIL until=IDENT)? ;
hookRef     : KPROBE STRING                          # kprobeHook
            | qualifiedName                          # namedHook
            ;

// Earlier alternatives bind tighter; `not` binds looser than comparisons so that
// `not process.exe in readers` means `not (process.exe in readers)`.
expr        : expr op=(EQ | NE | LT | LE | GT | GE) expr            # compareExpr
            | expr op=(IN | STARTSWITH | ENDSWITH | MATCHES | HAS) expr  # memberExpr
            | NOT expr                                              # notExpr
            | expr AND expr                                         # andExpr
            | expr OR expr                                          # orExpr
            | primary                                               # primaryExpr
            ;

primary     : LPAREN expr RPAREN                     # parenPrimary
            | listLiteral                            # listPrimary
            | STRING                                 # stringPrimary
            | INT                                    # intPrimary
            | (CIDR | IPV4 | IPV6)                   # addrPrimary
            | (TRUE | FALSE)                         # boolPrimary
            | qualifiedName                          # namePrimary
            ;

listLiteral : LBRACK (expr (COMMA expr)* COMMA?)? RBRACK ;

// Keywords are fine after a dot: ptrace.mode, bpf.cmd.
qualifiedName : IDENT (DOT nameAfterDot)* ;
nameAfterDot  : IDENT | IMPORT | POLICY | DESCRIPTION | MODE | DEFAULT | SCOPE | LIST | MACRO
              | CONST | RULE | ON | WHEN | KPROBE | ALLOW | DENY | AUDIT | KILL | NOT | AND | OR
              | IN | STARTSWITH | ENDSWITH | MATCHES | HAS | TRUE | FALSE | MARK | FOR | UNTIL ;

// ---- lexer ----
IMPORT: 'import'; POLICY: 'policy'; DESCRIPTION: 'description'; MODE: 'mode';
DEFAULT: 'default'; SCOPE: 'scope'; LIST: 'list'; MACRO: 'macro'; CONST: 'const';
RULE: 'rule'; ON: 'on'; WHEN: 'when'; KPROBE: 'kprobe';
ALLOW: 'allow'; DENY: 'deny'; AUDIT: 'audit'; KILL: 'kill';
NOT: 'not'; AND: 'and'; OR: 'or'; IN: 'in'; STARTSWITH: 'startswith';
ENDSWITH: 'endswith'; MATCHES: 'matches'; HAS: 'has'; TRUE: 'true'; FALSE: 'false';
MARK: 'mark'; FOR: 'for'; UNTIL: 'until';

EQ: '=='; NE: '!='; LE: '<='; GE: '>='; LT: '<'; GT: '>'; ASSIGN: '=';
LBRACE: '{'; RBRACE: '}'; LPAREN: '('; RPAREN: ')'; LBRACK: '['; RBRACK: ']';
COMMA: ','; COLON: ':'; DOT: '.';

// Addresses come before INT and IDENT so the longest match wins: 10.0.0.0/8, ::1, fe80::/10.
CIDR: (IPV4_BODY | IPV6_BODY) '/' [0-9]+ ;
IPV4: IPV4_BODY ;
IPV6: IPV6_BODY ;
fragment IPV4_BODY: [0-9]+ '.' [0-9]+ '.' [0-9]+ '.' [0-9]+ ;
// Needs two colons, so `name: type` never lexes as an address.
fragment IPV6_BODY: HEX* ':' HEX* ':' (HEX | ':' | '.')* ;
fragment HEX: [0-9a-fA-F] ;

// A leading '-' is part of the literal: the language has no subtraction.
INT: '-'? ('0x' [0-9a-fA-F]+ | '0o' [0-7]+ | [0-9]+) ;
IDENT: [a-zA-Z_] [a-zA-Z_0-9]* ;
STRING: '"' ( '\\' . | ~["\\\r\n] )* '"' ;

COMMENT: '#' ~[\r\n]* -> channel(HIDDEN) ;
WS: [ \t\r\n]+ -> skip ;
// Anything else is one bad character: the parser reports it with its position.
ERROR_CHAR: . ;
