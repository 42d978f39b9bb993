/*
 * A fixture for scripts/check-style.sh --self-test (not compiled into anything):
 * scripts/function-length.py must report nothing here.
 */
#include <stdio.h>

/* A type longer than a function may be is not a function. */
struct many_fields {
    int field_01;
    int field_02;
    int field_03;
    int field_04;
    int field_05;
    int field_06;
    int field_07;
    int field_08;
    int field_09;
    int field_10;
    int field_11;
    int field_12;
    int field_13;
    int field_14;
    int field_15;
    int field_16;
    int field_17;
    int field_18;
    int field_19;
    int field_20;
    int field_21;
    int field_22;
    int field_23;
    int field_24;
    int field_25;
    int field_26;
    int field_27;
    int field_28;
    int field_29;
    int field_30;
    int field_31;
    int field_32;
    int field_33;
    int field_34;
    int field_35;
    int field_36;
    int field_37;
    int field_38;
    int field_39;
    int field_40;
    int field_41;
    int field_42;
    int field_43;
    int field_44;
    int field_45;
};

static void empty(void) {}

/* Exactly as long as allowed: 40 lines from its opening brace to its closing one. */
static int forty_lines(int x)
{
    x += 1;
    x += 2;
    x += 3;
    x += 4;
    x += 5;
    x += 6;
    x += 7;
    x += 8;
    x += 9;
    x += 10;
    x += 11;
    x += 12;
    x += 13;
    x += 14;
    x += 15;
    x += 16;
    x += 17;
    x += 18;
    x += 19;
    x += 20;
    x += 21;
    x += 22;
    x += 23;
    x += 24;
    x += 25;
    x += 26;
    x += 27;
    x += 28;
    x += 29;
    x += 30;
    x += 31;
    x += 32;
    x += 33;
    x += 34;
    x += 35;
    x += 36;
    x += 37;
    return x;
}

/* Braces inside the body, in strings and in comments, end nothing. */
static int nested(int n)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (i % 2) {
            x += i; /* } */
        }
    }
    printf("}\n{\n");
    return x;
}

int main(void)
{
    struct many_fields m = {0};
    empty();
    return forty_lines(m.field_01) + nested(3);
}
